import { backupKeyRootFor, type KeyLayout } from '@blobferry/transfer';

/**
 * Where a container's blobs live in S3. Every layout maps a blob name to `root + name` (see
 * libs/transfer's `backupKeyRootFor`), so both listings share one order and one prefix.
 */
export interface KeyMapping {
  root: string;
  keyOf(name: string): string;
  nameOf(key: string): string;
}

export function keyMappingFor(o: { account: string; container: string; targetPrefix?: string; layout?: KeyLayout }): KeyMapping {
  const root = backupKeyRootFor(
    { account: o.account, container: o.container },
    { ...(o.targetPrefix !== undefined ? { prefix: o.targetPrefix } : {}), ...(o.layout ? { layout: o.layout } : {}) },
  );
  return {
    root,
    keyOf: (name) => root + name,
    nameOf: (key) => {
      if (!key.startsWith(root)) throw new Error(`S3 key ${JSON.stringify(key)} is not under the key root ${JSON.stringify(root)}`);
      return key.slice(root.length);
    },
  };
}
