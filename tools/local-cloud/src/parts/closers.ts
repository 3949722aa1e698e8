import type { Log } from '../local-cloud.js';

/** What stops each started part; they run in reverse start order, on a failed start as well as on stop(). */
export class Closers {
  private readonly closers: Array<() => Promise<void>> = [];

  constructor(private readonly log: Log) {}

  add(...closers: Array<() => Promise<void>>): void {
    this.closers.push(...closers);
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) {
      await close().catch((error: unknown) => this.log({ level: 'warn', msg: 'error while stopping', error: (error as Error).message }));
    }
  }
}
