import type { EventGridEvent } from '../types.js';
import { blobCreatedEvent, createSequencer } from './blob-created-event.js';
import type { BlobWatcher } from './blob-watcher.js';
import type { EventDelivery } from './delivery.js';

// The poll loop: every interval, turn Azurite's new and overwritten blobs into BlobCreated events and
// hand them to delivery. `idle()` lets tests wait until the stack has nothing left to say.

export interface EventFeed {
  idle(): Promise<void>;
  delivered(): EventGridEvent[];
  deadLettered(): EventGridEvent[];
  stop(): Promise<void>;
}

interface IdleWaiter {
  afterCycle: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export function startEventFeed(o: {
  watcher: BlobWatcher;
  delivery: EventDelivery;
  accountName: string;
  blobEndpoint: string;
  pollIntervalMs: number;
  log: (entry: Record<string, unknown>) => void;
}): EventFeed {
  const nextSequencer = createSequencer();
  const waiters: IdleWaiter[] = [];
  const stopController = new AbortController();
  let cyclesStarted = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const cycle = async () => {
    const cycleNumber = ++cyclesStarted;
    let found = 0;
    try {
      const changes = await o.watcher.changes(stopController.signal);
      found = changes.length;
      for (const change of changes) {
        const event = blobCreatedEvent({ accountName: o.accountName, blobEndpoint: o.blobEndpoint, change, sequencer: nextSequencer() });
        o.delivery.enqueue(event);
      }
    } catch (error) {
      if (stopController.signal.aborted) return;
      found = -1;
      o.log({ level: 'warn', msg: 'polling Azurite for blob changes failed', error: (error as Error).message });
    }
    if (found !== 0 || o.delivery.pending() > 0) return;
    for (const waiter of [...waiters]) {
      if (cycleNumber > waiter.afterCycle) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const loop = () => {
    if (stopController.signal.aborted) return;
    running = cycle().finally(() => {
      if (!stopController.signal.aborted) timer = setTimeout(loop, o.pollIntervalMs);
    });
  };
  loop();

  return {
    idle: () =>
      new Promise<void>((resolve, reject) => {
        if (stopController.signal.aborted) return reject(new Error('event delivery is stopped'));
        // A cycle already running may have listed before the caller's last write: wait for a later one.
        waiters.push({ afterCycle: cyclesStarted, resolve, reject });
      }),
    delivered: () => o.delivery.delivered(),
    deadLettered: () => o.delivery.deadLettered(),
    async stop() {
      stopController.abort();
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      o.delivery.close();
      for (const waiter of waiters.splice(0)) waiter.reject(new Error('local cloud stopped while waiting for events to settle'));
    },
  };
}
