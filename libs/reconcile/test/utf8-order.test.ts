import { describe, expect, it } from 'vitest';
import { compareUtf8, inUtf8Order } from '../src/listing/utf8-order.js';

const byUtf8Bytes = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const byUtf16Units = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// Characters on both sides of every boundary where UTF-16 and UTF-8 order disagree.
const ALPHABET = ['a', 'z', '/', '-', 'é', '\uD7FF', '\uE000', '\uFF61', '\uFFFD', '\u{10000}', '\u{1F600}', '\u{1F601}'];

function randomNames(count: number, seed: number): string[] {
  let state = seed;
  // mulberry32: deterministic, so a failure reproduces.
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
  const names = new Set<string>();
  while (names.size < count) {
    const length = 1 + (next() % 5);
    names.add(Array.from({ length }, () => ALPHABET[next() % ALPHABET.length]).join(''));
  }
  return [...names];
}

function listingOf(names: string[], order: (a: string, b: string) => number) {
  const sorted = [...names].sort(order);
  const prefixesListed: string[] = [];
  return {
    prefixesListed,
    list: async function* (prefix: string) {
      prefixesListed.push(prefix);
      for (const name of sorted) if (name.startsWith(prefix)) yield { name };
    },
  };
}

async function collect(iterable: AsyncIterable<{ name: string }>): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of iterable) names.push(entry.name);
  return names;
}

describe('compareUtf8', () => {
  it('orders like the UTF-8 bytes, where UTF-16 code units disagree', () => {
    expect(byUtf16Units('\uFF61', '\u{1F600}')).toBeGreaterThan(0);
    expect(compareUtf8('\uFF61', '\u{1F600}')).toBeLessThan(0);
    const names = randomNames(2000, 7);
    for (let index = 1; index < names.length; index++) {
      const [a, b] = [names[index - 1] as string, names[index] as string];
      expect(Math.sign(compareUtf8(a, b)), `${a} vs ${b}`).toBe(Math.sign(byUtf8Bytes(a, b)));
    }
  });
});

describe('inUtf8Order', () => {
  it('turns a UTF-16 ordered listing (Azurite) into UTF-8 order, re-listing only surrogate groups', async () => {
    const names = randomNames(3000, 42);
    const listing = listingOf(names, byUtf16Units);
    const expected = [...names].sort(byUtf8Bytes);
    expect(listing.list).toBeDefined();
    expect([...names].sort(byUtf16Units)).not.toEqual(expected);
    expect(await collect(inUtf8Order(listing.list, ''))).toEqual(expected);
    // Every extra listing is "prefix + supplementary character": never a plain re-list of everything.
    for (const prefix of listing.prefixesListed.slice(1)) expect(prefix.codePointAt(prefix.length - 2)).toBeGreaterThanOrEqual(0x10000);
  });

  it('keeps a listing that is already in UTF-8 order (real S3-like services) in that order', async () => {
    const names = randomNames(3000, 9);
    const listing = listingOf(names, byUtf8Bytes);
    expect(await collect(inUtf8Order(listing.list, ''))).toEqual([...names].sort(byUtf8Bytes));
  });

  it('works under a prefix and for the pair the issue names', async () => {
    const names = ['p/\u{1F600}', 'p/\uFF61', 'p/a', 'p/\u{1F600}/\uFF61', 'p/\u{1F600}/\u{1F600}', 'q'];
    const listing = listingOf(names, byUtf16Units);
    expect(await collect(inUtf8Order(listing.list, 'p/'))).toEqual([
      'p/a',
      'p/\uFF61',
      'p/\u{1F600}',
      'p/\u{1F600}/\uFF61',
      'p/\u{1F600}/\u{1F600}',
    ]);
  });
});
