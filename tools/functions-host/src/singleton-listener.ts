import type { HeldListenerLock } from './listener-lock.js';

// The WebJobs SingletonListener around a timer's listener: the listener runs only on the instance holding
// the listener lock, so that a scaled-out app runs each occurrence once. An instance that cannot take the
// lock tries again every `listenerLockRecoveryPollingInterval`; one that loses it (a renewal failed) stops
// its listener and tries again the same way.

export interface SingletonListenerOptions {
  lockId: string;
  recoveryPollingIntervalMs: number;
  /** Takes the lock, or undefined when another instance holds it. */
  tryLock(): Promise<HeldListenerLock | undefined>;
  /** Starts the listener the lock guards; returns how to stop it. */
  startListener(): Promise<{ stop(): Promise<void> }>;
  log(entry: Record<string, unknown>): void;
}

export interface SingletonListener {
  /** Stops polling, stops the listener (waiting for its invocation) and releases the lock. */
  stop(): Promise<void>;
}

export function startSingletonListener(o: SingletonListenerOptions): SingletonListener {
  let stopped = false;
  let poll: NodeJS.Timeout | undefined;
  let held: { lock: HeldListenerLock; listener: { stop(): Promise<void> } } | undefined;
  let attempt: Promise<void> = Promise.resolve();

  async function tryStart(): Promise<void> {
    if (stopped || held) return;
    let lock: HeldListenerLock | undefined;
    try {
      lock = await o.tryLock();
    } catch (error) {
      o.log({ source: 'host', level: 'warning', msg: `Unable to acquire Singleton lock (${o.lockId}).`, error: (error as Error).message });
    }
    if (!lock) {
      o.log({ source: 'host', level: 'debug', msg: `Unable to acquire Singleton lock (${o.lockId}).` });
      schedulePoll();
      return;
    }
    o.log({ source: 'host', level: 'debug', msg: `Singleton lock acquired (${o.lockId})` });
    let listener: { stop(): Promise<void> };
    try {
      listener = await o.startListener();
    } catch (error) {
      await lock.release();
      throw error;
    }
    held = { lock, listener };
    const current = held;
    void lock.lost.then(async () => {
      if (held !== current) return;
      held = undefined;
      await current.listener.stop();
      schedulePoll();
    });
  }

  function attemptStart(): void {
    attempt = tryStart().catch((error: unknown) => {
      o.log({
        source: 'host',
        level: 'error',
        msg: `the listener guarded by ${o.lockId} could not start`,
        error: (error as Error).message,
      });
      schedulePoll();
    });
  }

  function schedulePoll(): void {
    if (stopped) return;
    poll = setTimeout(attemptStart, o.recoveryPollingIntervalMs);
  }

  attemptStart();
  return {
    async stop() {
      stopped = true;
      clearTimeout(poll);
      await attempt;
      const current = held;
      held = undefined;
      if (!current) return;
      await current.listener.stop();
      await current.lock.release();
      o.log({ source: 'host', level: 'debug', msg: `Singleton lock released (${o.lockId})` });
    },
  };
}
