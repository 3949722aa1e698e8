import { createHash } from 'node:crypto';
import { keyRootOf, MAX_S3_KEY_BYTES, type KeyRootOptions } from '@blobferry/contract';
import { KeyTooLongError } from './errors.js';

/**
 * Where properties sidecars live, under the backup prefix: `<prefix>.blobferry-properties/`. Account and
 * container names never start with a dot, so this is outside every key root of the `account/container/blob`
 * and `container/blob` layouts (verify never calls a sidecar extra); with the `blob` layout, whose root is the
 * prefix itself, this folder name is reserved and listings skip it.
 */
export const SIDECAR_FOLDER = '.blobferry-properties/';

/**
 * The properties sidecar of the object at `key`: `<prefix>.blobferry-properties/<SHA-256 of the key, hex>.json`.
 * Under the prefix, because a role confined to BucketPrefix may write nowhere else; named by a hash, so
 * its length is fixed whatever the key's (a key near S3's 1,024 bytes still has one). The sidecar names its
 * key inside.
 */
export function sidecarKeyFor(options: { prefix: string; key: string }): string {
  return `${options.prefix}${SIDECAR_FOLDER}${createHash('sha256').update(options.key, 'utf8').digest('hex')}.json`;
}

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
  /** The backup prefix the keys are under, where properties sidecars live (`sidecarKeyFor`). */
  prefix: string;
  /** Keys under this are sidecars, never a blob's backup (`<prefix>.blobferry-properties/`). */
  sidecarRoot: string;
}

export function keyMappingFor(options: KeyRootOptions): KeyMapping {
  const root = keyRootOf(options);
  const prefix = options.prefix ?? '';
  return {
    root,
    prefix,
    sidecarRoot: prefix + SIDECAR_FOLDER,
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
