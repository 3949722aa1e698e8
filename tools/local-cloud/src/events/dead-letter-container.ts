import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { DeadLetteredEvent } from '../types.js';

// Event Grid's dead-letter destination: a blob container (in the host storage), where it writes a JSON
// array of events to `<SUBSCRIPTION NAME IN UPPER CASE>/<year>/<month>/<day>/<hour>/<guid>.json`, with
// the UTC date and hour not zero-padded. It writes `delayMs` after an event's last attempt and puts the
// events dead-lettered meanwhile into the same blob, so one blob may hold several.

export interface DeadLetterContainer {
  /** Queues an event for the next blob. */
  add(record: DeadLetteredEvent): void;
  /** Resolves once every added event is written (or failed to be). */
  idle(): Promise<void>;
  /** Writes what is waiting now and stops. */
  close(): Promise<void>;
}

export interface DeadLetterContainerOptions {
  container: ContainerClient;
  subscriptionName: string;
  delayMs: number;
  log: (entry: Record<string, unknown>) => void;
}

/** `MY-SUB/2026/3/7/9/<guid>.json` for a write at 2026-03-07T09:xx UTC. */
export function deadLetterBlobName(subscriptionName: string, at: Date): string {
  const parts = [at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), at.getUTCHours()];
  return `${subscriptionName.toUpperCase()}/${parts.join('/')}/${randomUUID()}.json`;
}

export function createDeadLetterContainer(o: DeadLetterContainerOptions): DeadLetterContainer {
  let waiting: DeadLetteredEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  const write = () => {
    timer = undefined;
    const batch = waiting;
    waiting = [];
    if (batch.length === 0) return;
    writing = writing.then(async () => {
      const name = deadLetterBlobName(o.subscriptionName, new Date());
      const body = JSON.stringify(batch);
      try {
        await o.container.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
          blobHTTPHeaders: { blobContentType: 'application/json' },
        });
        o.log({ msg: 'dead letters written', blob: `${o.container.containerName}/${name}`, events: batch.map((event) => event.id) });
      } catch (error) {
        o.log({
          level: 'error',
          msg: 'could not write dead letters',
          events: batch.map((event) => event.id),
          error: (error as Error).message,
        });
      }
    });
  };

  return {
    add(record) {
      waiting.push(record);
      timer ??= setTimeout(write, o.delayMs);
    },
    async idle() {
      while (waiting.length > 0 || timer !== undefined) await new Promise((resolve) => setTimeout(resolve, 20));
      await writing;
    },
    async close() {
      clearTimeout(timer);
      write();
      await writing;
    },
  };
}
