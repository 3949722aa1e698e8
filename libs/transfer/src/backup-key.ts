import { KeyTooLongError } from './errors.js';

export type KeyLayout = 'account/container/blob' | 'container/blob' | 'blob';

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;

/**
 * What every backup key of a container's blobs starts with: `<prefix><account>/<container>/` by default.
 * Every layout ends the key with the blob name, so a key is this root followed by the name, verbatim.
 */
export function backupKeyRootFor(
  container: { account: string; container: string },
  layout: { prefix?: string; layout?: KeyLayout } = {},
): string {
  const prefix = layout.prefix ?? '';
  switch (layout.layout ?? 'account/container/blob') {
    case 'account/container/blob':
      return `${prefix}${container.account}/${container.container}/`;
    case 'container/blob':
      return `${prefix}${container.container}/`;
    case 'blob':
      return prefix;
  }
}

/**
 * Where a blob's backup lives: `<prefix><account>/<container>/<blob>` by default. The blob name is kept
 * verbatim (no normalisation of `//`, `..` or a trailing `/`), so distinct blobs never share a key.
 */
export function backupKeyFor(
  blob: { account: string; container: string; blobName: string },
  layout: { prefix?: string; layout?: KeyLayout } = {},
): string {
  const key = backupKeyRootFor(blob, layout) + blob.blobName;
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_S3_KEY_BYTES) throw new KeyTooLongError(key, keyBytes);
  return key;
}
