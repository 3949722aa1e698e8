// The sweep from inventory reports, through the Function's own functions against the local cloud: the local
// cloud's inventory writes both reports and delivers BlobInventoryPolicyCompleted into the inventory queue, the
// inventory trigger plans a run from it, the slice trigger joins the reports in DuckDB and enqueues repairs. With
// a difference of every kind planted it enqueues exactly what the listing sweep enqueues; a blob newer than the
// report is read live before anything is enqueued; reports that cannot be trusted are refused and nothing is
// repaired from them.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Timer } from '@azure/functions';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import {
  AZURE_INVENTORY_CONTAINER,
  AZURE_INVENTORY_RULE,
  backfillBatchSchema,
  s3InventoryBucketFor,
  s3InventoryPrefixFor,
  SWEEP_QUEUE_NAME,
} from '@blobferry/contract';
import {
  BLOB_INVENTORY_POLICY_COMPLETED,
  type EventGridEvent,
  type LocalCloud,
  startLocalCloud,
  useLocalManagedIdentity,
  writeInventoryReports,
} from '@blobferry/local-cloud';
import { copyBlobToS3, keyMappingFor, type KeyMapping } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSettingsForStack } from '../dev/app-settings.js';
import { planSweepRun, startInventorySweep, sweepRunSlice, type SweepDeps } from '../src/sweep.js';
import { type CapturedLog, depsForStack, invocationContext, s3Reader } from './support.js';

let cloud: LocalCloud;
let queues: QueueServiceClient;
let admin: S3Client;
let blobs: BlobServiceClient;
let restoreEnvironment: (() => void) | undefined;
let workDirectory: string;
const opened: SweepDeps[] = [];

beforeAll(async () => {
  // Blob events go to a handler that drops them: none reaches the backup path, so every blob written below is a
  // difference the sweep must find. Inventory events go to the inventory queue, as on Azure.
  cloud = await startLocalCloud({ log: () => undefined, events: { target: { handler: async () => undefined } } });
  restoreEnvironment = useLocalManagedIdentity(cloud.stack.identity, 'app-service');
  queues = QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
  blobs = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
  admin = s3Reader(cloud.stack).s3;
  // A folder of this suite's own: the system's temp folder is shared with other runs on this machine.
  workDirectory = await mkdtemp(join(tmpdir(), 'inventory-sweep-'));
}, 240_000);
afterAll(async () => {
  for (const deps of opened) deps.clients.s3.destroy();
  admin?.destroy();
  restoreEnvironment?.();
  await cloud?.stop();
  if (workDirectory) await rm(workDirectory, { recursive: true, force: true });
});

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Function's sweep dependencies for one allowed container, with inventories configured or not. */
function sweepDeps(container: ContainerClient, o: { inventory: boolean; maxAge?: string; schedule?: string }): SweepDeps {
  const bucket = cloud.stack.aws.bucket;
  const overrides = {
    ALLOWED_SOURCES: `${container.accountName}/${container.containerName}`,
    SWEEP_EVENT_LAG: '0s',
    ...(o.schedule ? { SWEEP_SCHEDULE: o.schedule } : {}),
    ...(o.inventory
      ? {
          INVENTORY_AZURE: `${AZURE_INVENTORY_CONTAINER}/${AZURE_INVENTORY_RULE}`,
          INVENTORY_S3: `s3://${s3InventoryBucketFor(bucket)}/${s3InventoryPrefixFor(bucket)}`,
          INVENTORY_WORK_DIRECTORY: workDirectory,
          ...(o.maxAge ? { INVENTORY_MAX_AGE: o.maxAge } : {}),
        }
      : {}),
  };
  const { config, clients } = depsForStack(cloud.stack, overrides);
  const deps = { config, clients, queues, state: clients.stateContainer, env: appSettingsForStack(cloud.stack, overrides) };
  opened.push(deps);
  return deps;
}

async function freshContainer(): Promise<{ container: ContainerClient; keys: KeyMapping }> {
  const container = blobs.getContainerClient(`inv${randomUUID().replaceAll('-', '').slice(0, 16)}`);
  await container.create();
  return {
    container,
    keys: keyMappingFor({ account: container.accountName, container: container.containerName, prefix: cloud.stack.aws.prefix }),
  };
}

/** Every message of `queue`, received and deleted. */
async function takeAll(queue: QueueClient): Promise<unknown[]> {
  const taken: unknown[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 120 });
    if (receivedMessageItems.length === 0) return taken;
    for (const item of receivedMessageItems) {
      taken.push(JSON.parse(item.messageText));
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
}

/** Hands every sweep slice to the slice trigger, as the runtime does, until the sweep queue is empty. */
async function sweepSlices(deps: SweepDeps, logs: CapturedLog[]): Promise<void> {
  for (;;) {
    const slices = await takeAll(queues.getQueueClient(SWEEP_QUEUE_NAME));
    if (slices.length === 0) return;
    for (const slice of slices) await sweepRunSlice(slice, invocationContext(logs), deps);
  }
}

/** The entries of the backup queue's batch messages, as "<blob name>\t<eTag>", sorted: what the fleet is asked to copy. */
async function enqueuedCopies(): Promise<string[]> {
  const batches = (await takeAll(queues.getQueueClient(cloud.stack.events.queueName))).map((message) => backfillBatchSchema.parse(message));
  return batches
    .flatMap((batch) => batch.entries)
    .map((entry) => `${entry.subject.replace(/^.*\/blobs\//, '')}\t${entry.data.eTag}`)
    .sort();
}

let lastRunAtMs = 0;

/** Writes both reports of what the clouds hold, and returns the inventory event the local cloud delivered for them. */
async function inventoryRun(options: Omit<Parameters<typeof writeInventoryReports>[0], 'stack'> = {}) {
  // A run is named by the second it starts in: a run in the same second as the one before would be that run again.
  const nextSecondMs = (Math.floor(lastRunAtMs / 1000) + 1) * 1000;
  if (Date.now() < nextSecondMs) await pause(nextSecondMs - Date.now());
  lastRunAtMs = Date.now();
  const written = await writeInventoryReports({ stack: cloud.stack, ...options });
  await cloud.events.idle();
  const delivered = (await takeAll(queues.getQueueClient(cloud.stack.events.inventory.queueName))) as EventGridEvent[];
  expect(delivered.map((event) => event.eventType)).toEqual([BLOB_INVENTORY_POLICY_COMPLETED]);
  return { written, event: delivered[0] as EventGridEvent };
}

const names = (copies: string[]) => copies.map((copy) => copy.split('\t')[0]);

const reportOf = (logs: CapturedLog[]) => logs.find((log) => log.entry.event === 'sweepReport');

describe('the inventory sweep', () => {
  it('enqueues the same repairs as the listing sweep, with a difference of every kind planted', async () => {
    const { container, keys } = await freshContainer();
    const upload = (name: string, body: string | Buffer) => container.getBlockBlobClient(name).uploadData(Buffer.from(body));
    const backUp = (name: string) =>
      copyBlobToS3({
        source: { blob: container.getBlobClient(name) },
        target: { s3: admin, bucket: cloud.stack.aws.bucket, key: keys.keyOf(name) },
      });
    const corrupt = async (name: string) => {
      const key = keys.keyOf(name);
      const head = await admin.send(new HeadObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key }));
      const { Body } = await admin.send(new GetObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key }));
      const bytes = Buffer.from((await Body?.transformToByteArray()) ?? []);
      bytes[0] = ((bytes[0] ?? 0) + 1) % 256;
      await admin.send(new PutObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key, Body: bytes, Metadata: head.Metadata }));
    };
    for (const name of ['same-1.txt', 'dir/same with space+plus.txt', 'size.txt', 'stale.txt', 'corrupt.txt', 'metadata.txt']) {
      await upload(name, `first ${name}`);
      await backUp(name);
    }
    await upload('multipart.bin', randomBytes(9 * 1024 * 1024));
    await backUp('multipart.bin');
    await upload('missing.txt', 'never backed up');
    await upload('dir/missing a+b é.txt', 'never backed up either');
    await admin.send(new PutObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: keys.keyOf('extra.txt'), Body: 'only in S3' }));
    // A later second than the copies: the overwrites are stale by time, the corruption a mismatch by ETag.
    await pause(1100);
    await upload('size.txt', 'a longer body than before');
    await upload('stale.txt', 'again stale.txt');
    await corrupt('corrupt.txt');
    await container.getBlobClient('metadata.txt').setMetadata({ changed: 'yes' });

    const listed: CapturedLog[] = [];
    const listing = sweepDeps(container, { inventory: false });
    await planSweepRun(timer, invocationContext(listed), listing);
    await sweepSlices(listing, listed);
    const listedCopies = await enqueuedCopies();
    const listedReport = reportOf(listed)?.entry;
    expect(listedReport).toMatchObject({ via: 'listing', containers: 1 });
    const listedCounts = listedReport?.['counts'] as Record<string, number>;
    expect(
      Object.entries(listedCounts)
        .filter(([, count]) => count > 0)
        .map(([kind]) => kind)
        .sort(),
    ).toEqual(['checksumMismatch', 'extra', 'inSync', 'missing', 'propertiesDiffer', 'sizeMismatch', 'stale'].sort());

    // Reports begin in a later second than every change above (Azure states its start to the second).
    await pause(1100);
    const { event } = await inventoryRun();
    const found: CapturedLog[] = [];
    const inventory = sweepDeps(container, { inventory: true });
    await startInventorySweep(event, invocationContext(found), inventory);
    expect(found.find((log) => log.entry.event === 'sweepPlan')?.entry).toMatchObject({ via: 'inventory', planned: true, containers: 1 });
    await sweepSlices(inventory, found);
    const foundReport = reportOf(found)?.entry;
    // The downloaded reports and DuckDB's spill are gone with the slice.
    expect(await readdir(workDirectory)).toEqual([]);

    expect(await enqueuedCopies()).toEqual(listedCopies);
    expect(names(listedCopies).sort()).toEqual(
      ['corrupt.txt', 'dir/missing a+b é.txt', 'metadata.txt', 'missing.txt', 'size.txt', 'stale.txt'].sort(),
    );
    expect(foundReport).toMatchObject({ via: 'inventory', counts: listedCounts, enqueued: listedReport?.['enqueued'], refused: [] });
    // Which the reports decided and which needed a live check is the slice's to say.
    const slice = found.find((log) => log.entry.event === 'sweepSlice')?.entry;
    expect(slice?.['inventory']).toMatchObject({ decided: { missing: 2, extra: 1, sizeMismatch: 1, stale: 1 }, reportOlderThanLive: 0 });
    expect((foundReport?.['liveChecks'] as { needsHead: number }).needsHead).toBeGreaterThanOrEqual(1);

    // The next timer leaves the account to its reports. Runs are named by their occurrence's time: each schedule here
    // fires at a second of its own, so its run is never the default schedule's (every 2 minutes, at second 0).
    const timed: CapturedLog[] = [];
    await planSweepRun(timer, invocationContext(timed), sweepDeps(container, { inventory: true, schedule: '3 0 1 * * *' }));
    expect(timed.find((log) => log.entry.event === 'sweepPlan')?.entry).toMatchObject({
      coveredByInventory: [container.accountName],
      containers: 0,
    });
    expect(timed.some((log) => log.entry.event === 'sweepFallback')).toBe(false);
  }, 120_000);

  it('raises BlobInventoryPolicyCompleted in the Event Grid schema when the local cloud writes a report', async () => {
    const { written, event } = await inventoryRun();
    expect(Object.keys(event).sort()).toEqual([
      'data',
      'dataVersion',
      'eventTime',
      'eventType',
      'id',
      'metadataVersion',
      'subject',
      'topic',
    ]);
    expect(event).toMatchObject({
      eventType: 'Microsoft.Storage.BlobInventoryPolicyCompleted',
      subject: 'BlobDataManagement/BlobInventory',
      topic: expect.stringMatching(/\/providers\/Microsoft\.Storage\/storageAccounts\/devstoreaccount1$/),
      dataVersion: '1.0',
      metadataVersion: '1',
    });
    const data = event.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(
      ['accountName', 'manifestBlobUrl', 'policyRunId', 'policyRunStatus', 'policyRunStatusMessage', 'ruleName', 'scheduleDateTime'].sort(),
    );
    expect(data).toMatchObject({
      accountName: cloud.stack.azure.accountName,
      ruleName: AZURE_INVENTORY_RULE,
      policyRunStatus: 'Succeeded',
    });
    const destination = blobs.getContainerClient(AZURE_INVENTORY_CONTAINER);
    expect(data['manifestBlobUrl']).toBe(destination.getBlobClient(written.azure.manifest).url);
    const folder = written.azure.manifest.split('/').slice(0, 4).join('/');
    expect(data['scheduleDateTime']).toBe(`${folder.slice(0, 10).replaceAll('/', '-')}T${folder.slice(11).replaceAll('-', ':')}Z`);
  });

  it('reads a blob written after the S3 report live before enqueueing it: copied since, it is left alone', async () => {
    const { container, keys } = await freshContainer();
    const s3ReportBegan = new Date();
    await pause(1100);
    // Written after the S3 report began, so it lacks them; the Azure report, later, lists both.
    await container.getBlockBlobClient('late-copied.txt').uploadData(Buffer.from('copied after the S3 report'));
    await container.getBlockBlobClient('late-uncopied.txt').uploadData(Buffer.from('not copied yet'));
    await pause(1100);
    const { event } = await inventoryRun({ s3StartedAt: s3ReportBegan });
    // The event path copies one of them after the S3 report was taken.
    await copyBlobToS3({
      source: { blob: container.getBlobClient('late-copied.txt') },
      target: { s3: admin, bucket: cloud.stack.aws.bucket, key: keys.keyOf('late-copied.txt') },
    });

    const deps = sweepDeps(container, { inventory: true });
    const requests: string[] = [];
    deps.clients.s3.middlewareStack.add(
      (next, context) => async (args) => {
        requests.push(`${context.commandName} ${String((args.input as { Key?: string }).Key ?? '')}`);
        return next(args);
      },
      { step: 'initialize', name: 'record-requests' },
    );
    const logs: CapturedLog[] = [];
    await startInventorySweep(event, invocationContext(logs), deps);
    await sweepSlices(deps, logs);

    // The reports called both missing; read live, only the one never copied is, and only it is enqueued.
    expect(names(await enqueuedCopies())).toEqual(['late-uncopied.txt']);
    expect(reportOf(logs)?.entry).toMatchObject({ counts: { missing: 1, inSync: 1 }, liveChecks: { reportOlderThanLive: 2 } });
    for (const name of ['late-copied.txt', 'late-uncopied.txt']) expect(requests).toContain(`HeadObjectCommand ${keys.keyOf(name)}`);
  }, 60_000);

  it('refuses a report without its manifest or too old, names the file and the fix, repairs nothing, and lets the timer list', async () => {
    const { container } = await freshContainer();
    await container.getBlockBlobClient('never-backed-up.txt').uploadData(Buffer.from('missing in S3'));
    const { event } = await inventoryRun();
    const data = event.data as { scheduleDateTime: string; manifestBlobUrl: string };

    // A run whose manifest is not there (another scheduled time: a run of its own).
    const absent = {
      ...event,
      data: {
        ...data,
        scheduleDateTime: '2026-01-02T03:04:05Z',
        manifestBlobUrl: data.manifestBlobUrl.replace(/\/\d{2}-\d{2}-\d{2}\//, '/03-04-05/'),
      },
    };
    const missing: CapturedLog[] = [];
    const deps = sweepDeps(container, { inventory: true });
    await startInventorySweep(absent, invocationContext(missing), deps);
    await sweepSlices(deps, missing);
    const refusedSlice = missing.find((log) => log.entry.event === 'sweepSlice');
    expect(refusedSlice?.level).toBe('error');
    expect(refusedSlice?.entry['refused']).toMatchObject({
      file: `${AZURE_INVENTORY_CONTAINER}/${new URL(absent.data.manifestBlobUrl).pathname.split(`/${AZURE_INVENTORY_CONTAINER}/`)[1]}`,
      problem: expect.stringContaining('without its manifest'),
      fix: expect.stringMatching(/\S/),
    });
    expect(reportOf(missing)?.entry).toMatchObject({
      enqueued: 0,
      refused: [{ source: `${container.accountName}/${container.containerName}` }],
    });

    // The real report, read with an age limit it exceeds.
    await pause(1100);
    const stale: CapturedLog[] = [];
    const strict = sweepDeps(container, { inventory: true, maxAge: '1s' });
    await startInventorySweep(event, invocationContext(stale), strict);
    await sweepSlices(strict, stale);
    const staleSlice = stale.find((log) => log.entry.event === 'sweepSlice')?.entry;
    expect(staleSlice?.['refused']).toMatchObject({ problem: expect.stringMatching(/s old .*more than the 1 s allowed/) });
    expect(await enqueuedCopies()).toEqual([]);

    // No run swept the account from its reports within the age allowed (the earlier tests' runs are older than
    // 1 s by now): the timer lists it, and says why.
    const timed: CapturedLog[] = [];
    await planSweepRun(timer, invocationContext(timed), sweepDeps(container, { inventory: true, maxAge: '1s', schedule: '4 0 2 * * *' }));
    expect(timed.find((log) => log.entry.event === 'sweepFallback')?.entry).toMatchObject({ accounts: [container.accountName] });
    expect(timed.find((log) => log.entry.event === 'sweepPlan')?.entry).toMatchObject({ planned: true, containers: 1 });
    await sweepSlices(strict, timed);
    expect(names(await enqueuedCopies())).toEqual(['never-backed-up.txt']);
  }, 60_000);
});
