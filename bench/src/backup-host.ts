import { readHostJson, startFunctionsHost, type FunctionsHostProcess } from '@blobferry/functions-host';
import { backupFunctionSettings, type Stack } from '@blobferry/local-cloud';
import { exportedFile } from './exported-file.js';
import { processUsage, type ProcessUsage } from './proc-usage.js';
import { profilingNodeArgs } from './scenario.js';

// The backup function as it runs on Azure, on the local clouds: apps/backup-function's deployed bundle (what
// `nx build` zips; the bench is a tool and may not import an app, so it runs the file the app exports) in
// tools/functions-host's host, a process of its own that takes the Event Grid events from the backup queue as
// the Functions runtime does, with the app's committed host.json. The app logs one JSON entry per message
// (`event: 'backupBlob'`, its `outcome`, `key`, `durationMs`, `dequeueCount`) and the host stamps each entry with
// its `time`: that is when a copy was complete in S3.

const APP_ENTRY = exportedFile('@blobferry/backup-function/deployed-entry');
const HOST_JSON = exportedFile('@blobferry/backup-function/host.json');

export interface BackupAppSettingsOptions {
  keyPrefix: string;
  partSize: number;
  concurrency: number;
}

/**
 * The app settings for a stack (local-cloud's backupFunctionSettings, as npm start uses them), with the
 * run's own prefix, every container of the account, the bench's tuning, and no sweep.
 */
export function backupAppSettings(stack: Stack, o: BackupAppSettingsOptions): Record<string, string> {
  return {
    ...backupFunctionSettings(stack),
    BACKUP_PREFIX: o.keyPrefix,
    ALLOWED_SOURCES: `${stack.azure.accountName}/*`,
    PART_SIZE: String(o.partSize),
    CONCURRENCY: String(o.concurrency),
    // Once a year: a sweep firing mid-run would enqueue the blobs a scenario is copying (and the host's own
    // timer status blobs) a second time. The scenarios measure the event and backfill paths.
    SWEEP_SCHEDULE: '0 0 0 1 1 *',
  };
}

/** The committed host.json's queue settings, as one host applies them. */
export interface HostQueueLimits {
  /** Messages per receive. */
  batchSize: number;
  /** A new batch is fetched once this many or fewer are left in flight. */
  newBatchThreshold: number;
  /** Messages one host works on at most: batchSize + newBatchThreshold. */
  maxInFlight: number;
}

export async function hostQueueLimits(): Promise<HostQueueLimits> {
  const { batchSize, newBatchThreshold } = (await readHostJson(HOST_JSON)).queues;
  return { batchSize, newBatchThreshold, maxInFlight: batchSize + newBatchThreshold };
}

/** One `copied` entry of the app's log. */
export interface CopiedBlob {
  key: string;
  /** The host's log time of the entry (ms since the epoch). */
  copiedAt: number;
  /** The function's own time for the message. */
  durationMs: number;
  dequeueCount: number;
}

export interface BackupHost {
  pid: number;
  /** Messages one host works on at most: host.json's batchSize + newBatchThreshold. */
  maxInFlight: number;
  /** Resolves with the first `copied` entry of each key once every one of `keys` is copied. */
  copied(keys: string[], timeoutMs: number): Promise<Map<string, CopiedBlob>>;
  /** Every `outcome` the app logged, counted (at-least-once delivery: duplicates show as skipped-up-to-date). */
  outcomes(): Record<string, number>;
  /** The host process's CPU and peak RSS so far. */
  usage(): Promise<ProcessUsage>;
  stop(): Promise<void>;
}

/** Outcomes that say the run is broken (a wrong setting, a refused event): no point waiting for the timeout. */
const FATAL_OUTCOMES = new Set(['refused', 'failed-permanent']);

export interface StartBackupHostOptions {
  stack: Stack;
  keyPrefix: string;
  partSize: number;
  concurrency: number;
  log(message: string): void;
}

export async function startBackupHost(o: StartBackupHostOptions): Promise<BackupHost> {
  const queues = await hostQueueLimits();
  const first = new Map<string, CopiedBlob>();
  const outcomes: Record<string, number> = {};
  let fatal: Error | undefined;
  let waiter: { check(): void } | undefined;
  const verbose = Boolean(process.env.BLOBFERRY_BENCH_VERBOSE);
  const host: FunctionsHostProcess = await startFunctionsHost({
    appEntry: APP_ENTRY,
    hostJsonPath: HOST_JSON,
    appSettings: backupAppSettings(o.stack, o),
    nodeArgs: profilingNodeArgs(),
    log: (entry) => {
      const level = String(entry.level ?? '');
      if (verbose || level === 'error' || level.startsWith('warn')) process.stderr.write(`${JSON.stringify(entry)}\n`);
      if (entry.event !== 'backupBlob' || typeof entry.outcome !== 'string') return;
      outcomes[entry.outcome] = (outcomes[entry.outcome] ?? 0) + 1;
      if (FATAL_OUTCOMES.has(entry.outcome)) fatal ??= new Error(`the backup function answered ${entry.outcome}: ${JSON.stringify(entry)}`);
      if (entry.outcome === 'copied' && typeof entry.key === 'string' && !first.has(entry.key)) {
        first.set(entry.key, {
          key: entry.key,
          copiedAt: Date.parse(String(entry.time)),
          durationMs: Number(entry.durationMs),
          dequeueCount: Number(entry.dequeueCount ?? 1),
        });
      }
      waiter?.check();
    },
  });
  try {
    // Able to copy: valid settings and AWS credentials obtained through the identity plane and STS (which also
    // warms the STS session before the first message, as it is on a warm instance).
    const health = await fetch(`${host.baseUrl}/api/health`);
    if (health.status !== 200) throw new Error(`the backup function is not healthy: ${await health.text()}`);
  } catch (error) {
    await host.stop();
    throw error;
  }
  o.log(`Functions host pid ${host.pid} ready (batchSize ${queues.batchSize}, newBatchThreshold ${queues.newBatchThreshold})`);
  const exited = host.exited.then(({ code, signal }) => new Error(`the Functions host exited (code ${code}, signal ${signal})`));
  return {
    pid: host.pid,
    maxInFlight: queues.maxInFlight,
    copied: (keys, timeoutMs) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const missing = keys.filter((key) => !first.has(key)).length;
          reject(
            new Error(`${missing} of ${keys.length} blobs were not copied within ${timeoutMs} ms (outcomes: ${JSON.stringify(outcomes)})`),
          );
        }, timeoutMs);
        const settle = (error?: Error) => {
          clearTimeout(timer);
          waiter = undefined;
          if (error) reject(error);
          else resolve(new Map(keys.map((key) => [key, first.get(key) as CopiedBlob])));
        };
        waiter = {
          check: () => {
            if (fatal) settle(fatal);
            else if (keys.every((key) => first.has(key))) settle();
          },
        };
        void exited.then((error) => {
          if (waiter) settle(error);
        });
        waiter.check();
      }),
    outcomes: () => ({ ...outcomes }),
    usage: () => processUsage(host.pid),
    stop: () => host.stop(),
  };
}
