import pLimit from 'p-limit';

/**
 * p-limit's `map` (at most `concurrency` calls of `work` in flight, results in input order) that stops at the first
 * failure: the failing call drops every item not yet started (`clearQueue`) and the map rejects with its error.
 * Calls already in flight run to their end; the dropped items never settle, which nothing awaits once the map rejects.
 */
export function mapConcurrently<T, R>(items: Iterable<T>, concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const limit = pLimit(Math.max(1, concurrency));
  return limit.map(items, async (item, index) => {
    try {
      return await work(item, index);
    } catch (error) {
      limit.clearQueue();
      throw error;
    }
  });
}
