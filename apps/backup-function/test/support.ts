import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { GetObjectCommand, type GetObjectCommandOutput, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvocationContext } from '@azure/functions';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { appSettingsForStack } from '../dev/app-settings.js';
import { blobferryBin } from '../dev/blobferry-bin.js';
import { COMMITTED_HOST_JSON } from '../dev/local-stack.js';
import { type BackupDeps, handleBlobEvent } from '../src/backup-blob.js';
import { createClients, type CreateClientsOptions } from '../src/clients.js';
import { createSharedState } from '../src/state/shared-state.js';
import { type BackupSettings, parseBackupSettings, queueConnectionOf, type SettingName } from '@blobferry/contract';

export interface CapturedLog {
  level: string;
  entry: Record<string, unknown>;
  text: string;
}

/** A real InvocationContext whose log lines are captured (and parsed when they are JSON). */
export function invocationContext(logs: CapturedLog[]): InvocationContext {
  return new InvocationContext({
    invocationId: randomUUID(),
    functionName: 'backupBlob',
    logHandler: (level, ...args) => {
      const text = format(...args);
      let entry: Record<string, unknown> = {};
      try {
        entry = JSON.parse(text) as Record<string, unknown>;
      } catch {
        entry = { message: text };
      }
      logs.push({ level, entry, text });
    },
  });
}

/** Runs the queue trigger's handler on one event, as the host would, and returns what it logged. */
export async function deliverEvent(
  event: unknown,
  deps: BackupDeps,
): Promise<{ result: Awaited<ReturnType<typeof handleBlobEvent>>; logs: CapturedLog[] }> {
  const logs: CapturedLog[] = [];
  const result = await handleBlobEvent(event, invocationContext(logs), deps);
  return { result, logs };
}

function configForStack(stack: Stack, overrides: Partial<Record<SettingName, string>> = {}): BackupSettings {
  const result = parseBackupSettings(appSettingsForStack(stack, overrides));
  if (!result.ok) throw new Error(result.errors.join('; '));
  return result.config;
}

/**
 * What the app builds at start-up for a local stack's settings: the configuration, the production clients
 * (the backup queue as the trigger's connection names it) and the shared state.
 */
export function depsForStack(
  stack: Stack,
  overrides: Partial<Record<SettingName, string>> = {},
  clientOptions: Omit<CreateClientsOptions, 'queue'> = {},
): BackupDeps {
  const settings = appSettingsForStack(stack, overrides);
  const config = configForStack(stack, overrides);
  const queue = queueConnectionOf(settings);
  if (!queue.ok) throw new Error(queue.error);
  const clients = createClients(config, { ...clientOptions, queue: queue.connection });
  return { config, clients, state: createSharedState(clients.stateContainer) };
}

let lastSequencer = 0n;
/** Event Grid style sequencer: 32 hex digits, increasing in the order they are made. */
export function nextSequencer(): string {
  const fromClock = BigInt(Date.now()) << 20n;
  lastSequencer = fromClock > lastSequencer ? fromClock : lastSequencer + 1n;
  return lastSequencer.toString(16).padStart(32, '0');
}

export interface BlobEventOptions {
  eventType?: string;
  etag?: string;
  contentLength?: number;
  sequencer?: string;
  container?: string;
}

export function blobEvent(stack: Stack, blobName: string, o: BlobEventOptions = {}) {
  const container = o.container ?? stack.azure.sourceContainer;
  const path = blobName.split('/').map(encodeURIComponent).join('/');
  const deleted = o.eventType === 'Microsoft.Storage.BlobDeleted';
  return {
    id: randomUUID(),
    topic: `/subscriptions/00000000-0000-4000-8000-00000000b10b/resourceGroups/blobferry-local/providers/Microsoft.Storage/storageAccounts/${stack.azure.accountName}`,
    subject: `/blobServices/default/containers/${container}/blobs/${blobName}`,
    eventType: o.eventType ?? 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    data: {
      api: deleted ? 'DeleteBlob' : 'PutBlob',
      requestId: randomUUID(),
      ...(deleted ? {} : { eTag: o.etag ?? '0x0', contentLength: o.contentLength ?? 0 }),
      contentType: 'application/octet-stream',
      blobType: 'BlockBlob',
      url: `${stack.azure.blobEndpoint}/${container}/${path}`,
      sequencer: o.sequencer ?? nextSequencer(),
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}

export function sourceContainer(stack: Stack): ContainerClient {
  return BlobServiceClient.fromConnectionString(stack.azure.connectionString).getContainerClient(stack.azure.sourceContainer);
}

/** Reads S3 with the emulator's own key pair: the test's view, independent of the app's credentials. */
/** The bytes of a GetObject answer. */
export async function bodyOf(object: GetObjectCommandOutput): Promise<Buffer> {
  return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
}

export function s3Reader(stack: Stack) {
  const s3 = new S3Client({
    region: stack.aws.region,
    endpoint: stack.aws.s3Endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
  });
  const keyOf = (blobName: string) =>
    backupKeyFor({ account: stack.azure.accountName, container: stack.azure.sourceContainer, blobName }, { prefix: stack.aws.prefix });
  return {
    s3,
    keyOf,
    async read(blobName: string): Promise<Buffer | undefined> {
      try {
        const object = await s3.send(new GetObjectCommand({ Bucket: stack.aws.bucket, Key: keyOf(blobName) }));
        return await bodyOf(object);
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
        throw error;
      }
    },
    async metadata(blobName: string): Promise<Record<string, string> | undefined> {
      try {
        return (await s3.send(new HeadObjectCommand({ Bucket: stack.aws.bucket, Key: keyOf(blobName) }))).Metadata ?? {};
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
        throw error;
      }
    },
  };
}

export interface WaitForOptions {
  timeoutMs: number;
  intervalMs?: number;
  what: string;
}

export async function waitFor(condition: () => Promise<boolean>, o: WaitForOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${o.what}`);
    await new Promise((resolve) => setTimeout(resolve, o.intervalMs ?? 200));
  }
}

/** Byte equality without a deep diff (vitest's toEqual is very slow on MiB-sized buffers). */
export function sameBytes(actual: Buffer | undefined, expected: Buffer): boolean {
  return actual !== undefined && actual.equals(expected);
}

/**
 * The committed host.json with some queue settings changed, as a user would tune them (tests use a 1 s
 * retry delay so that five attempts do not take minutes). Returns the path of the copy.
 */
export async function hostJsonWith(queues: Record<string, unknown>): Promise<string> {
  const committed = JSON.parse(await readFile(COMMITTED_HOST_JSON, 'utf8')) as { extensions: { queues: Record<string, unknown> } };
  committed.extensions.queues = { ...committed.extensions.queues, ...queues };
  const path = join(await mkdtemp(join(tmpdir(), 'blobferry-host-json-')), 'host.json');
  await writeFile(path, JSON.stringify(committed));
  return path;
}

/** apps/verify-cli's bin, run from its TypeScript sources (the `@blobferry/source` condition, with tsx). */
const CLI = blobferryBin();

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the `blobferry` CLI from its sources in a process of its own, as a user would run it. */
export function blobferry(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=@blobferry/source', '--import', import.meta.resolve('tsx'), CLI, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The `summary` of a `--json` report; an exit code above 1 (usage, configuration) fails with its message. */
export function cliSummary(run: CliRun): Record<string, number> {
  if (run.code > 1) throw new Error(`blobferry exited ${run.code}: ${run.stderr}`);
  return (JSON.parse(run.stdout) as { summary: Record<string, number> }).summary;
}

/**
 * Settings for tests of the event and backfill paths: the sweep once a year, so a run that fires meanwhile
 * does not enqueue blobs whose messages are still waiting (the sweep's own tests cover that interplay).
 */
export const WITHOUT_SWEEP = { SWEEP_SCHEDULE: '0 0 0 1 1 *' } as const;
