import { describe, expect, it } from 'vitest';
import { mapConcurrently } from '../src/pool.ts';

const indices = (count: number) => Array.from({ length: count }, (_, i) => i);

describe('mapConcurrently', () => {
  it('never has more than `concurrency` items in flight, visits each item once and answers in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const doubled = await mapConcurrently(indices(50), 4, async (item, index) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      // Later items finish first, so the order of the answer is not the order of completion.
      for (let tick = 0; tick < 50 - item; tick++) await new Promise((resolve) => setImmediate(resolve));
      seen.push(item);
      inFlight -= 1;
      return item * 2 + index;
    });
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual(indices(50));
    expect(doubled).toEqual(indices(50).map((i) => i * 3));
  });

  it('rejects with the first failure and starts no new items after it', async () => {
    const started: number[] = [];
    const run = mapConcurrently(indices(100), 2, async (item) => {
      started.push(item);
      await new Promise((resolve) => setImmediate(resolve));
      if (item === 3) throw new Error('item 3 failed');
    });
    await expect(run).rejects.toThrow('item 3 failed');
    const startedAtFailure = started.length;
    expect(startedAtFailure).toBeLessThan(10);
    // Nothing queued starts later either.
    for (let tick = 0; tick < 20; tick++) await new Promise((resolve) => setImmediate(resolve));
    expect(started).toHaveLength(startedAtFailure);
  });

  it('treats a concurrency below one as one', async () => {
    await expect(mapConcurrently([1, 2], 0, async (item) => item)).resolves.toEqual([1, 2]);
  });
});
