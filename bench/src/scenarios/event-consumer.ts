import type { Stack } from '@blobferry/local-cloud';
import { existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Measurement } from '../measure.js';
import { runWorker } from '../scenario.js';

// The process that receives BlobCreated events and backs the blobs up, measured as one tool run: the real backup
// function in apps/backup-function's local Functions host, or (before that existed, or on request) the
// event-driver worker that calls copyBlobToS3 per event. Either reports each completed copy as a `DONE` line.

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
  /** Hands the stack over; resolves once events can be handled. */
  start(stack: Stack): Promise<void>;
  /** Resolves once `count` distinct blobs are copied. */
  completions(count: number, timeoutMs: number): Promise<Completion[]>;
  stop(): Promise<{ measurement: Measurement }>;
}

const FUNCTION_HOST = fileURLToPath(new URL('../../../apps/backup-function/dev/host.ts', import.meta.url));

export function functionHostAvailable(): boolean {
  return existsSync(FUNCTION_HOST);
}

const PATHS = {
  function: 'backup function (apps/backup-function backupBlob in its local Functions host, federated credentials via local STS) <- local Event Grid webhook',
  driver: 'event-driver: libs/transfer copyBlobToS3 per event <- local Event Grid webhook (stand-in for the backup function)',
};

export async function startEventConsumer(o: {
  kind: 'function' | 'driver';
  keyPrefix: string;
  partSize: number;
  concurrency: number;
}): Promise<EventConsumer> {
  const completions: Completion[] = [];
  const distinct = new Set<string>();
  let waiter: { count: number; resolve: () => void } | undefined;
  let stdin: Writable | undefined;
  let resolveUrl: (url: string) => void = () => undefined;
  let resolveReady: () => void = () => undefined;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const { kind, ...args } = o;
  const running = runWorker<{ handled: number }>(kind === 'function' ? 'function-host' : 'event-driver', args, {
    ...(kind === 'function' ? { nodeArgs: ['--conditions=@blobferry/source', '--import', 'tsx'] } : {}),
    stdin: (writable) => (stdin = writable),
    onStdoutLine: (line) => {
      if (line.startsWith('URL ')) resolveUrl(line.slice(4).trim());
      if (line === 'READY') resolveReady();
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
    path: PATHS[kind],
    start: async (stack) => {
      stdin?.write(`${JSON.stringify(stack)}\n`);
      await Promise.race([ready, failed]);
    },
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
