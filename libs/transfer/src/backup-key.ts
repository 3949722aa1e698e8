import { KeyTooLongError } from './errors.js';

export type KeyLayout = 'account/container/blob' | 'container/blob' | 'blob';

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;

/**
 * Where a blob's backup lives: `<prefix><account>/<container>/<blob>` by default. The blob name is kept
 * verbatim (no normalisation of `//`, `..` or a trailing `/`), so distinct blobs never share a key.
 */
export function backupKeyFor(
  blob: { account: string; container: string; blobName: string },
  layout: { prefix?: string; layout?: KeyLayout } = {},
): string {
  const prefix = layout.prefix ?? '';
  let path: string;
  switch (layout.layout ?? 'account/container/blob') {
    case 'account/container/blob':
      path = `${blob.account}/${blob.container}/${blob.blobName}`;
      break;
    case 'container/blob':
      path = `${blob.container}/${blob.blobName}`;
      break;
    case 'blob':
      path = blob.blobName;
      break;
  }
  const key = prefix + path;
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_S3_KEY_BYTES) throw new KeyTooLongError(key, keyBytes);
  return key;
}
