import { backupKeyFor } from '@blobferry/transfer';
import { describe, expect, it } from 'vitest';
import { keyMappingFor } from '../src/index.js';

const container = { account: 'acct01', container: 'photos' };

describe('keyMappingFor', () => {
  it('maps names to the keys the backup writes, for every layout, and back', () => {
    for (const layout of ['account/container/blob', 'container/blob', 'blob'] as const) {
      const keys = keyMappingFor({ ...container, targetPrefix: 'p/', layout });
      for (const name of ['a.jpg', 'dir/b c.jpg', 'a//b', '', '日本😀']) {
        const key = keys.keyOf(name);
        if (name !== '') expect(key).toBe(backupKeyFor({ ...container, blobName: name }, { prefix: 'p/', layout }));
        expect(keys.nameOf(key)).toBe(name);
      }
    }
  });

  it('names the root every key starts with (the default layout, no prefix)', () => {
    expect(keyMappingFor(container).root).toBe('acct01/photos/');
    expect(keyMappingFor({ ...container, layout: 'blob' }).root).toBe('');
  });

  it('refuses a key outside the root instead of inventing a name', () => {
    expect(() => keyMappingFor(container).nameOf('other/photos/a.jpg')).toThrow(/not under the key root "acct01\/photos\/"/);
  });
});
