import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { superviseFunctionsHost, type FunctionsHostProcess, type SupervisedFunctionsHost } from '@blobferry/functions-host';
import { type LocalCloud, type LocalCloudOptions, type Stack, startLocalCloud, writeStackFile } from '@blobferry/local-cloud';
import type { SettingName } from '@blobferry/contract';
import { appSettingsForStack } from './app-settings.js';

export const DEFAULT_STACK_FILE = fileURLToPath(new URL('../../../.local-cloud/stack.json', import.meta.url));
const APP_ENTRY = fileURLToPath(new URL('../src/index.ts', import.meta.url));
export const COMMITTED_HOST_JSON = fileURLToPath(new URL('../host.json', import.meta.url));

export interface DrainedOptions {
  timeoutMs?: number;
}

export interface BackupStackOptions {
  /** Written once the host can back up any blob uploaded from then on (and again for each new host); removed on stop. */
  stackFile?: string | false;
  settings?: Partial<Record<SettingName, string>>;
  /** Events go to the backup queue unless `events: false` (an estate that predates the subscription). */
  localCloud?: Omit<LocalCloudOptions, 'stackFile'>;
  /** The host.json the Functions host runs with (default: the app's committed host.json). */
  hostJsonPath?: string;
  /** Lease of a received message, renewed while the function runs (default 600 s, as on Azure). */
  leaseSeconds?: number;
  /** Extra node flags for the host process (profiling). */
  hostNodeArgs?: string[];
  /** The host's HTTP port, kept across restarts (0, the default, picks a free one each time). */
  hostPort?: number;
  /** false: start the clouds only; `startHost()` starts the Functions host later (messages wait in the queue meanwhile). */
  startHost?: boolean;
  log?: (entry: Record<string, unknown>) => void;
}

/** stack.json: the local cloud's Stack plus the Functions host's process (pid 0 until a host runs). */
export type BackupStackFile = Stack & { functionHost: { pid: number; baseUrl: string } };

const stackFileOf = (stack: Stack, functionHost: BackupStackFile['functionHost']): BackupStackFile => ({ ...stack, functionHost });

export interface BackupStack {
  cloud: LocalCloud;
  /** The Functions host process running now (the supervisor replaces one that dies). */
  host(): FunctionsHostProcess;
  /** Starts the Functions host when the stack was started with `startHost: false`; idempotent. */
  startHost(): Promise<void>;
  settings: Record<string, string>;
  queue: QueueClient;
  poisonQueue: QueueClient;
  /** Resolves once every event raised so far is in the queue and the queue is empty (handled or poisoned). */
  drained(o?: DrainedOptions): Promise<void>;
  stop(): Promise<void>;
}

async function waitHealthy(host: FunctionsHostProcess): Promise<void> {
  // Ready means able to copy: valid settings and AWS credentials obtainable (this also warms the STS session
  // before the first message). An outage a dependency is in (health 503 too) heals once the host copies again.
  const health = await fetch(`${host.baseUrl}/api/health`);
  const text = await health.text();
  const report = JSON.parse(text) as { config?: { valid?: boolean }; credentials?: { obtained?: boolean } };
  if (!report.config?.valid || !report.credentials?.obtained) throw new Error(`the backup function is not healthy: ${text}`);
}

/**
 * The local cloud plus the Functions host, wired like production: Event Grid writes blob events into
 * the backup queue, the host (its own process, app settings as its environment) runs the app's queue
 * trigger, and a supervisor starts a new host whenever one dies, as the platform does.
 */
export async function startBackupStack(options: BackupStackOptions = {}): Promise<BackupStack> {
  const log = options.log ?? ((entry: Record<string, unknown>) => process.stderr.write(`${JSON.stringify(entry)}\n`));
  // The role is deployed as infra/aws-iam would be for these settings: AllowDeleteMarkers goes with DELETE_POLICY.
  const role = { allowDeleteMarkers: options.settings?.DELETE_POLICY === 'delete-marker' };
  const cloud = await startLocalCloud({ role, ...options.localCloud, events: options.localCloud?.events ?? {}, log });
  let supervisor: Promise<SupervisedFunctionsHost> | undefined;
  const settings = appSettingsForStack(cloud.stack, options.settings);
  const stackFile = options.stackFile;
  const startHost = () => {
    supervisor ??= superviseFunctionsHost({
      appEntry: APP_ENTRY,
      hostJsonPath: options.hostJsonPath ?? COMMITTED_HOST_JSON,
      appSettings: settings,
      ...(options.leaseSeconds !== undefined ? { leaseSeconds: options.leaseSeconds } : {}),
      ...(options.hostNodeArgs ? { nodeArgs: options.hostNodeArgs } : {}),
      port: options.hostPort ?? 0,
      log,
      onStart: async (host) => {
        await waitHealthy(host);
        if (stackFile) await writeStackFile(stackFile, stackFileOf(cloud.stack, { pid: host.pid, baseUrl: host.baseUrl }));
      },
    });
    return supervisor;
  };
  try {
    let running: SupervisedFunctionsHost | undefined;
    if (options.startHost !== false) running = await startHost();
    else if (stackFile) await writeStackFile(stackFile, stackFileOf(cloud.stack, { pid: 0, baseUrl: '' }));
    const queues = QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
    const queue = queues.getQueueClient(cloud.stack.events.queueName);
    let stopping: Promise<void> | undefined;
    return {
      cloud,
      host: () => {
        if (!running) throw new Error('the Functions host is not started: call startHost()');
        return running.current();
      },
      async startHost() {
        running = await startHost();
      },
      settings,
      queue,
      poisonQueue: queues.getQueueClient(cloud.stack.events.poisonQueueName),
      async drained(o = {}) {
        const deadline = Date.now() + (o.timeoutMs ?? 120_000);
        await cloud.events.idle();
        while ((await queue.getProperties()).approximateMessagesCount !== 0) {
          if (Date.now() > deadline) throw new Error(`the backup queue still holds messages after ${o.timeoutMs ?? 120_000} ms`);
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
      stop: () => {
        stopping ??= (async () => {
          if (stackFile) await rm(stackFile, { force: true });
          await (await supervisor?.catch(() => undefined))?.stop();
          await cloud.stop();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await (await supervisor?.catch(() => undefined))?.stop();
    await cloud.stop();
    throw error;
  }
}
