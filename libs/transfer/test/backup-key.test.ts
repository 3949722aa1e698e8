import { describe, expect, it } from 'vitest';
import { KEY_LAYOUTS } from '@blobferry/contract';
import { isRetryable } from '../src/classify.js';
import { KeyTooLongError } from '../src/errors.js';
import { backupKeyFor, keyMappingFor, parseBlobUrl } from '../src/index.js';

const blob = { account: 'acct01', container: 'photos', blobName: 'a/b.jpg' };

describe('backupKeyFor', () => {
  it('defaults to <prefix><account>/<container>/<blob>', () => {
    expect(backupKeyFor(blob)).toBe('acct01/photos/a/b.jpg');
    expect(backupKeyFor(blob, { prefix: 'backups/' })).toBe('backups/acct01/photos/a/b.jpg');
  });

  it('supports the shorter layouts', () => {
    expect(backupKeyFor(blob, { prefix: 'p/', layout: 'container/blob' })).toBe('p/photos/a/b.jpg');
    expect(backupKeyFor(blob, { layout: 'blob' })).toBe('a/b.jpg');
  });

  it("puts every layout's key as its root followed by the blob name", () => {
    for (const layout of KEY_LAYOUTS) {
      const { root } = keyMappingFor({ ...blob, prefix: 'p/', layout });
      expect(backupKeyFor(blob, { prefix: 'p/', layout })).toBe(`${root}${blob.blobName}`);
    }
  });

  it('keeps odd names verbatim so distinct blobs never collide', () => {
    const names = ['a//b', 'a/../b', '../x', 'dir/', 'sp ace', '日本😀', '#?%+'];
    const keys = names.map((blobName) => backupKeyFor({ ...blob, blobName }));
    expect(keys).toEqual(names.map((name) => `acct01/photos/${name}`));
    expect(new Set(keys).size).toBe(names.length);
  });

  it('round-trips from a parsed URL', () => {
    expect(backupKeyFor(parseBlobUrl('https://acct01.blob.core.windows.net/photos/a%2F..%2Fb%20c'))).toBe('acct01/photos/a/../b c');
  });

  it('counts UTF-8 bytes, not characters, against the 1,024 limit', () => {
    const fits = 'x'.repeat(1024 - 'acct01/photos/'.length);
    expect(Buffer.byteLength(backupKeyFor({ ...blob, blobName: fits }))).toBe(1024);
    expect(() => backupKeyFor({ ...blob, blobName: `${fits}x` })).toThrow(KeyTooLongError);
    // 300 emoji = 300 characters but 1,200 bytes.
    let error: unknown;
    try {
      backupKeyFor({ ...blob, blobName: '😀'.repeat(300) });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(KeyTooLongError);
    expect((error as KeyTooLongError).keyBytes).toBe(1214);
    expect((error as Error).message).toMatch(/shorten the prefix/);
    expect(isRetryable(error)).toBe(false);
  });
});

describe('keyMappingFor', () => {
  const container = { account: 'acct01', container: 'photos' };

  it('lists the layouts once, the default first', () => {
    expect(KEY_LAYOUTS).toEqual(['account/container/blob', 'container/blob', 'blob']);
  });

  it('maps names to the keys the backup writes, for every layout, and back', () => {
    for (const layout of KEY_LAYOUTS) {
      const keys = keyMappingFor({ ...container, prefix: 'p/', layout });
      for (const name of ['a.jpg', 'dir/b c.jpg', 'a//b', '', '日本😀']) {
        const key = keys.keyOf(name);
        expect(key).toBe(`${keys.root}${name}`);
        if (name !== '') expect(key).toBe(backupKeyFor({ ...container, blobName: name }, { prefix: 'p/', layout }));
        expect(keys.nameOf(key)).toBe(name);
      }
    }
  });

  it('names the root every key starts with', () => {
    expect(keyMappingFor(container).root).toBe('acct01/photos/');
    expect(keyMappingFor({ ...container, prefix: 'backups/' }).root).toBe('backups/acct01/photos/');
    expect(keyMappingFor({ ...container, prefix: 'p/', layout: 'container/blob' }).root).toBe('p/photos/');
    expect(keyMappingFor({ ...container, layout: 'blob' }).root).toBe('');
  });

  it('enforces the 1,024-byte limit in keyOf', () => {
    const keys = keyMappingFor({ ...container, prefix: 'p/' });
    const fits = 'x'.repeat(1024 - keys.root.length);
    expect(keys.keyOf(fits)).toHaveLength(1024);
    expect(() => keys.keyOf(`${fits}x`)).toThrow(KeyTooLongError);
  });

  it('refuses a key outside the root instead of inventing a name', () => {
    expect(() => keyMappingFor(container).nameOf('other/photos/a.jpg')).toThrow(/not under the key root "acct01\/photos\/"/);
  });
});
