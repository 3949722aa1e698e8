import type { Stack } from '@blobferry/local-cloud';
import type { Writable } from 'node:stream';
import type { Measurement } from '../measure.js';
import { runWorker } from '../scenario.js';

// The process that receives BlobCreated events and backs the blobs up, measured as one tool run: today the
// event-driver worker (copyBlobToS3 per event). It reports each completed copy as a `DONE <json>` line.

export interface Completion {
  blobName: string;
  eventTime: string;
  receivedAt: number;
  completedAt: number;
}

export interface EventConsumer {
  webhookUrl: string;
  /** Which code handled the events, for the report. */
  path: string;
  start(stack: Stack): void;
  /** Resolves once `count` distinct blobs are copied. */
  completions(count: number, timeoutMs: number): Promise<Completion[]>;
  stop(): Promise<{ measurement: Measurement }>;
}

export async function startEventConsumer(o: { keyPrefix: string; partSize: number; concurrency: number }): Promise<EventConsumer> {
  const completions: Completion[] = [];
  const distinct = new Set<string>();
  let waiter: { count: number; resolve: () => void } | undefined;
  let stdin: Writable | undefined;
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  const running = runWorker<{ copied: number }>('event-driver', o, {
    stdin: (writable) => (stdin = writable),
    onStdoutLine: (line) => {
      if (line.startsWith('URL ')) resolveUrl(line.slice(4).trim());
      if (!line.startsWith('DONE ')) return;
      const completion = JSON.parse(line.slice(5)) as Completion;
      completions.push(completion);
      distinct.add(completion.blobName);
      if (waiter && distinct.size >= waiter.count) waiter.resolve();
    },
  });
  const failed = running.then(
    () => Promise.reject(new Error('the event consumer exited early')),
    (error: unknown) => Promise.reject(error instanceof Error ? error : new Error(String(error))),
  );
  failed.catch(() => undefined);
  const webhookUrl = await Promise.race([url, failed]);
  let stopped: Promise<{ measurement: Measurement }> | undefined;
  return {
    webhookUrl,
    path: 'event-driver: local Event Grid webhook -> libs/transfer copyBlobToS3 per event (stand-in for the backup function)',
    start: (stack) => stdin?.write(`${JSON.stringify(stack)}\n`),
    completions: (count, timeoutMs) =>
      new Promise<Completion[]>((resolve, reject) => {
        if (distinct.size >= count) return resolve([...completions]);
        const timer = setTimeout(
          () => reject(new Error(`only ${distinct.size} of ${count} blobs reached S3 within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve([...completions]);
          },
        };
        void failed.catch((error: unknown) => {
          clearTimeout(timer);
          reject(error as Error);
        });
      }),
    stop: () => {
      stopped ??= (async () => {
        stdin?.end();
        return { measurement: (await running).measurement };
      })();
      return stopped;
    },
  };
}
