import { keyRootOf, MAX_S3_KEY_BYTES, type KeyRootOptions } from '@blobferry/contract';
import { KeyTooLongError } from './errors.js';

/**
 * Where a container's blobs live in S3. Every layout maps a blob name to `root + name`, verbatim (no
 * normalisation of `//`, `..` or a trailing `/`), so distinct blobs never share a key, and the names'
 * order is the keys' order under one prefix.
 */
export interface KeyMapping {
  /** What every key of the container's blobs starts with: `<prefix><account>/<container>/` by default. */
  root: string;
  /** The blob's key; throws KeyTooLongError over S3's 1,024 UTF-8 bytes. */
  keyOf(name: string): string;
  /** The blob name a key under `root` belongs to; throws for a key outside the root. */
  nameOf(key: string): string;
}

export function keyMappingFor(options: KeyRootOptions): KeyMapping {
  const root = keyRootOf(options);
  return {
    root,
    keyOf: (name) => {
      const key = root + name;
      const keyBytes = Buffer.byteLength(key, 'utf8');
      if (keyBytes > MAX_S3_KEY_BYTES) throw new KeyTooLongError(key, keyBytes);
      return key;
    },
    nameOf: (key) => {
      if (!key.startsWith(root)) throw new Error(`S3 key ${JSON.stringify(key)} is not under the key root ${JSON.stringify(root)}`);
      return key.slice(root.length);
    },
  };
}

/** Where one blob's backup lives: `keyMappingFor(...).keyOf(blobName)`. */
export function backupKeyFor(
  blob: { account: string; container: string; blobName: string },
  layout: Omit<KeyRootOptions, 'account' | 'container'> = {},
): string {
  return keyMappingFor({ account: blob.account, container: blob.container, ...layout }).keyOf(blob.blobName);
}
