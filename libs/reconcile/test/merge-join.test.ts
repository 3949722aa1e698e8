import { describe, expect, it } from 'vitest';
import { ListingOrderError, mergeJoin } from '../src/listing/merge-join.js';
import type { SourceBlob } from '../src/listing/source-listing.js';
import type { TargetObject } from '../src/listing/target-listing.js';

const blob = (name: string): SourceBlob => ({ name, etag: 'e', size: 1, md5Base64: undefined, lastModified: new Date(0) });
const object = (key: string): TargetObject => ({ key, size: 1, etag: 'e', lastModified: new Date(0) });

async function* stream<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function pairs(sources: string[], keys: string[]) {
  const joined = [];
  for await (const pair of mergeJoin(stream(sources.map(blob)), stream(keys.map(object)), (key) => key.slice('root/'.length))) {
    joined.push([pair.name, pair.source ? 'S' : '-', pair.target ? 'T' : '-'].join(''));
  }
  return joined;
}

describe('mergeJoin', () => {
  it('pairs names across both sides in UTF-8 order, key root stripped', async () => {
    expect(await pairs(['a', 'b', '\uFF61', '\u{1F600}'], ['root/b', 'root/c', 'root/\u{1F600}'])).toEqual([
      'aS-',
      'bST',
      'c-T',
      '\uFF61S-',
      '\u{1F600}ST',
    ]);
  });

  it('refuses a listing out of UTF-8 order instead of misreporting names as missing and extra', async () => {
    // s3rver's file-system walk lists "a/b" before "a-c"; S3 (byte order) lists "a-c" first.
    await expect(pairs(['a-c', 'a/b'], ['root/a/b', 'root/a-c'])).rejects.toThrow(ListingOrderError);
    await expect(pairs(['\u{1F600}', '\uFF61'], [])).rejects.toThrow(/out of UTF-8 byte order/);
  });
});
