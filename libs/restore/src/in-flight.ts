/**
 * Uploads in flight, at most `limit` at once: `add` starts waiting once `limit` are running (and rejects with the
 * first that failed); `drain` waits for all of them; `settle` lets them end, failed or not, after a failure.
 */
export function inFlightLimit(limit: number) {
  const running = new Set<Promise<void>>();
  return {
    async add(task: Promise<void>): Promise<void> {
      running.add(task);
      task.then(
        () => running.delete(task),
        () => undefined,
      );
      if (running.size >= limit) await Promise.race(running);
    },
    drain: async (): Promise<void> => void (await Promise.all(running)),
    settle: async (): Promise<void> => void (await Promise.allSettled(running)),
  };
}
