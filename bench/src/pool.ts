/** Runs `work` on every item with at most `concurrency` in flight; rejects on the first failure. */
export async function forEachConcurrently<T>(
  items: Iterable<T>,
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let index = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    for (;;) {
      if (failed) return;
      const next = iterator.next();
      if (next.done) return;
      const current = index++;
      try {
        await work(next.value, current);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
}

export function* range(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}
