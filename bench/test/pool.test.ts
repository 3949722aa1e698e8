import { describe, expect, it } from 'vitest';
import { forEachConcurrently, range } from '../src/pool.ts';

describe('forEachConcurrently', () => {
  it('never has more than `concurrency` items in flight and visits each item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachConcurrently(range(50), 4, async (item) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(item);
      inFlight -= 1;
    });
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual([...range(50)]);
  });

  it('rejects with the first failure and starts no new items after it', async () => {
    const started: number[] = [];
    const run = forEachConcurrently(range(100), 2, async (item) => {
      started.push(item);
      await new Promise((resolve) => setImmediate(resolve));
      if (item === 3) throw new Error('item 3 failed');
    });
    await expect(run).rejects.toThrow('item 3 failed');
    expect(started.length).toBeLessThan(10);
  });
});
