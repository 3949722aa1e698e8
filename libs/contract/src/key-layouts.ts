/** Where in the bucket a container's blobs go, after the prefix; the first is the default. */
export const KEY_LAYOUTS = ['account/container/blob', 'container/blob', 'blob'] as const;
export type KeyLayout = (typeof KEY_LAYOUTS)[number];

/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_S3_KEY_BYTES = 1024;

export interface KeyRootOptions {
  account: string;
  container: string;
  /** The bucket's key prefix (BACKUP_PREFIX), e.g. `azure/`; none by default. */
  prefix?: string | undefined;
  layout?: KeyLayout | undefined;
}

/**
 * What every key of a container's blobs starts with: `<prefix><account>/<container>/` by default. A blob's
 * key is this root followed by its name, verbatim, so distinct blobs never share a key and the names'
 * order is the keys' order.
 */
export function keyRootOf(options: KeyRootOptions): string {
  const prefix = options.prefix ?? '';
  switch (options.layout ?? KEY_LAYOUTS[0]) {
    case 'account/container/blob':
      return `${prefix}${options.account}/${options.container}/`;
    case 'container/blob':
      return `${prefix}${options.container}/`;
    case 'blob':
      return prefix;
  }
}
