import { readFile } from 'node:fs/promises';
import { z } from 'zod';

// The parts of host.json the local host honours, with the Functions runtime's defaults and bounds
// (Microsoft.Azure.WebJobs.Extensions.Storage.Queues QueuesOptions). Anything else in the file is
// left to the real runtime.

/** A .NET TimeSpan as host.json writes it: `hh:mm:ss`, optionally `d.hh:mm:ss` and fractional seconds. */
const timeSpan = z
  .string()
  .regex(/^(\d+\.)?\d{1,2}:\d{2}:\d{2}(\.\d+)?$/, 'expected a TimeSpan such as "00:00:30"')
  .transform((text) => {
    const [dayPart, clock] = text.includes('.') && text.indexOf('.') < text.indexOf(':') ? text.split(/\.(.*)/s) : ['0', text];
    const [hours = '0', minutes = '0', seconds = '0'] = (clock ?? '').split(':');
    return ((Number(dayPart) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Math.round(Number(seconds) * 1000);
  });

const queuesSchema = z
  .object({
    batchSize: z.number().int().min(1).max(32).default(16),
    newBatchThreshold: z.number().int().min(0).optional(),
    maxDequeueCount: z.number().int().min(1).default(5),
    visibilityTimeout: timeSpan.default(0),
    maxPollingInterval: z.union([timeSpan, z.number().int().min(100)]).default(60_000),
    messageEncoding: z.enum(['base64', 'none']).default('base64'),
  })
  .transform((queues) => ({ ...queues, newBatchThreshold: queues.newBatchThreshold ?? Math.floor(queues.batchSize / 2) }));

// Microsoft.Azure.WebJobs SingletonOptions: a listener lock (a timer trigger's) is a blob lease, which
// Azure Storage grants for 15 to 60 seconds.
const singletonSchema = z.object({
  listenerLockPeriod: timeSpan
    .pipe(z.number().min(15_000, 'a blob lease lasts at least 00:00:15').max(60_000, 'a blob lease lasts at most 00:01:00'))
    .default(60_000),
  listenerLockRecoveryPollingInterval: timeSpan.pipe(z.number().min(1000, 'expected at least 00:00:01')).default(60_000),
});

const hostJsonSchema = z.object({
  version: z.literal('2.0', { error: 'host.json must say "version": "2.0"' }),
  functionTimeout: z.union([z.literal('-1'), timeSpan]).optional(),
  extensions: z.object({ queues: queuesSchema.optional() }).optional(),
  singleton: singletonSchema.optional(),
});

export interface QueueOptions {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  /** Delay before a failed message is visible again. */
  visibilityTimeoutMs: number;
  /** Longest wait between polls of an empty queue. */
  maxPollingIntervalMs: number;
  messageEncoding: 'base64' | 'none';
}

export interface SingletonOptions {
  /** Lease of a listener lock, renewed at half its length. */
  listenerLockPeriodMs: number;
  /** How often a host without the listener lock tries to take it. */
  listenerLockRecoveryPollingIntervalMs: number;
}

export interface HostJson {
  /** undefined: unbounded (`-1`). */
  functionTimeoutMs: number | undefined;
  queues: QueueOptions;
  singleton: SingletonOptions;
}

export function parseHostJson(content: unknown, source = 'host.json'): HostJson {
  const parsed = hostJsonSchema.safeParse(content);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`${source} is not valid: ${problems.join('; ')}`);
  }
  const queues = parsed.data.extensions?.queues ?? queuesSchema.parse({});
  const singleton = parsed.data.singleton ?? singletonSchema.parse({});
  const timeout = parsed.data.functionTimeout;
  return {
    functionTimeoutMs: timeout === undefined || timeout === '-1' ? undefined : timeout,
    queues: {
      batchSize: queues.batchSize,
      newBatchThreshold: queues.newBatchThreshold,
      maxDequeueCount: queues.maxDequeueCount,
      visibilityTimeoutMs: queues.visibilityTimeout,
      maxPollingIntervalMs: queues.maxPollingInterval,
      messageEncoding: queues.messageEncoding,
    },
    singleton: {
      listenerLockPeriodMs: singleton.listenerLockPeriod,
      listenerLockRecoveryPollingIntervalMs: singleton.listenerLockRecoveryPollingInterval,
    },
  };
}

export async function readHostJson(path: string): Promise<HostJson> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read host.json at ${path}: ${(error as Error).message}`);
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not JSON: ${(error as Error).message}`);
  }
  return parseHostJson(content, path);
}
