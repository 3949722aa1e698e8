import { backupKeyFor } from '@blobferry/transfer';
import { ConfigurationError } from '../cli-errors.js';

export type KeyLayout = 'account/container/blob' | 'container/blob' | 'blob';

/** Every layout maps a blob name to `root + name`, so both listings share one order and one prefix. */
export interface KeyMapping {
  root: string;
  keyOf(name: string): string;
  nameOf(key: string): string;
}

export function keyMappingFor(o: { account: string; container: string; targetPrefix: string; layout: KeyLayout }): KeyMapping {
  const probe = 'probe';
  const probeKey = backupKeyFor(
    { account: o.account, container: o.container, blobName: probe },
    { prefix: o.targetPrefix, layout: o.layout },
  );
  if (!probeKey.endsWith(probe)) {
    throw new ConfigurationError(`Key layout ${o.layout} does not end keys with the blob name; verify cannot map it.`);
  }
  const root = probeKey.slice(0, -probe.length);
  return { root, keyOf: (name) => root + name, nameOf: (key) => key.slice(root.length) };
}
