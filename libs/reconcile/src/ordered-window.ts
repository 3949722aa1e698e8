/**
 * Maps `source` through async `work`, up to `windowSize` items in flight, yielding results in input
 * order. Results that resolve at once (most in-sync objects) pass straight through; the window
 * bounds memory however long the input is.
 */
export async function* mapInOrder<T, R>(source: AsyncIterable<T>, work: (item: T) => Promise<R>, windowSize: number): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  for await (const item of source) {
    const result = work(item);
    // Awaited in order below; a later item failing first must not count as unhandled meanwhile.
    result.catch(() => undefined);
    window.push(result);
    if (window.length >= windowSize) yield await (window.shift() as Promise<R>);
  }
  while (window.length > 0) yield await (window.shift() as Promise<R>);
}
