import { describe, expect, it } from 'vitest';
import { listedStateOf } from '../src/listed-state.js';
import type { SourceBlob } from '../src/listing/source-listing.js';
import type { TargetObject } from '../src/listing/target-listing.js';

const blob: SourceBlob = {
  name: 'a.txt',
  etag: '0x8DC1',
  size: 3,
  md5Base64: 'rL0Y20zC+Fzt72VPzMSk2A==',
  lastModified: new Date('2026-01-01T00:00:00Z'),
  blobType: 'BlockBlob',
  accessTier: 'Hot',
  metadata: { a: '1', b: '2' },
  tags: { k: 'v' },
};
const object: TargetObject = {
  key: 'root/a.txt',
  size: 3,
  etag: 'acbd18db4cc2f85cedef654fccc4a4d8',
  lastModified: new Date('2026-01-01T00:00:01Z'),
};

describe('listedStateOf', () => {
  it('is the same for the same listings, metadata and tags in any order', () => {
    expect(listedStateOf(blob, object)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(listedStateOf({ ...blob, metadata: { b: '2', a: '1' } }, { ...object })).toBe(listedStateOf(blob, object));
  });

  it('changes with any listed field of either side', () => {
    const state = listedStateOf(blob, object);
    const changes: Array<[Partial<SourceBlob>, Partial<TargetObject>]> = [
      [{ etag: '0x8DC2' }, {}],
      [{ tags: { k: 'w' } }, {}],
      [{ tags: {} }, {}],
      [{ metadata: { a: '1' } }, {}],
      [{ accessTier: 'Cool' }, {}],
      [{ lastModified: new Date('2026-01-01T00:00:02Z') }, {}],
      [{}, { etag: 'acbd18db4cc2f85cedef654fccc4a4d9' }],
      [{}, { lastModified: new Date('2026-01-01T00:00:05Z') }],
      [{}, { size: 4 }],
    ];
    for (const [blobChange, objectChange] of changes)
      expect(
        listedStateOf({ ...blob, ...blobChange }, { ...object, ...objectChange }),
        JSON.stringify([blobChange, objectChange]),
      ).not.toBe(state);
  });
});
