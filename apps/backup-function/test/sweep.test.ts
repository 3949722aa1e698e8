// The sweep's functions (the timer that plans a run, the queue trigger that sweeps its slices) with a real
// InvocationContext against the local cloud, its queues and state container: blobs no event announced end in S3.
import { randomBytes } from 'node:crypto';
import type { Timer } from '@azure/functions';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { MAX_DEQUEUE_COUNT, SWEEP_QUEUE_NAME, sweepSliceMessageSchema } from '@blobferry/contract';
import { type LocalCloud, startLocalCloud, useLocalManagedIdentity } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appSettingsForStack } from '../dev/app-settings.js';
import { handleBackfillBatch } from '../src/backup-batch.js';
import type { BackupDeps } from '../src/backup-blob.js';
import { Outages } from '../src/state/outages.js';
import { planSweepRun, sweepRunSlice, type SweepDeps } from '../src/sweep.js';
import { type CapturedLog, blobEvent, bodyOf, depsForStack, invocationContext, s3Reader, sameBytes, sourceContainer } from './support.js';
import { GetObjectCommand } from '@aws-sdk/client-s3';

let cloud: LocalCloud;
let deps: SweepDeps;
let backupDeps: BackupDeps;
let queues: QueueServiceClient;
let reader: ReturnType<typeof s3Reader>;
let restoreEnvironment: (() => void) | undefined;

beforeAll(async () => {
  // No events: an estate whose writes raised none (appends, metadata, lost events all look like this to the sweep).
  cloud = await startLocalCloud({ log: () => undefined });
  restoreEnvironment = useLocalManagedIdentity(cloud.stack.identity, 'app-service');
  // Lag 0: every blob the sweep repairs was written before the run started, so each counts as a missed event.
  backupDeps = depsForStack(cloud.stack, { SWEEP_EVENT_LAG: '0s' });
  const { config, clients } = backupDeps;
  queues = QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
  deps = { config, clients, queues, state: clients.stateContainer, env: appSettingsForStack(cloud.stack) };
  reader = s3Reader(cloud.stack);
}, 240_000);
afterAll(async () => {
  reader?.s3.destroy();
  deps?.clients.s3.destroy();
  restoreEnvironment?.();
  await cloud?.stop();
});

/** Hands every message of `queue` to `handle`, as the queue trigger does, until the queue is empty. */
async function drain(
  queue: QueueClient,
  handle: (message: unknown, logs: CapturedLog[]) => Promise<unknown>,
  logs: CapturedLog[],
): Promise<number> {
  let handled = 0;
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 16, visibilityTimeout: 120 });
    if (receivedMessageItems.length === 0) return handled;
    for (const item of receivedMessageItems) {
      await handle(JSON.parse(item.messageText), logs);
      await queue.deleteMessage(item.messageId, item.popReceipt);
      handled += 1;
    }
  }
}

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

describe('the sweep functions', () => {
  it('plan a run, sweep its slices, enqueue what S3 lacks, and report it; the fleet then backs every blob up', async () => {
    const container = sourceContainer(cloud.stack);
    const contents = new Map(Array.from({ length: 8 }, (_, index) => [`swept/blob-${index}.bin`, randomBytes(1000 + index)]));
    for (const [name, content] of contents) await container.getBlockBlobClient(name).uploadData(content);

    const logs: CapturedLog[] = [];
    await planSweepRun(timer, invocationContext(logs), deps);
    const plan = logs.find((log) => log.entry.event === 'sweepPlan')?.entry;
    expect(plan).toMatchObject({ planned: true, slicesEnqueued: 1, containers: 1, isPastDue: false });
    // A second instance firing for the same occurrence plans nothing.
    await planSweepRun(timer, invocationContext(logs), deps);
    expect(logs.filter((log) => log.entry.event === 'sweepPlan').map((log) => log.entry.planned)).toEqual([true, false]);

    expect(
      await drain(queues.getQueueClient(SWEEP_QUEUE_NAME), (message, into) => sweepRunSlice(message, invocationContext(into), deps), logs),
    ).toBe(1);
    const report = logs.find((log) => log.entry.event === 'sweepReport');
    expect(report?.level).toBe('warning');
    expect(report?.entry).toMatchObject({
      runId: plan?.runId,
      containers: 1,
      slices: 1,
      enqueued: 8,
      missedEvents: 8,
      counts: { missing: 8 },
    });

    const backupQueue = queues.getQueueClient(cloud.stack.events.queueName);
    const backups: CapturedLog[] = [];
    // One batch message holds the 8 blobs.
    expect(await drain(backupQueue, (message, into) => handleBackfillBatch(message, invocationContext(into), backupDeps), backups)).toBe(1);
    expect(backups.filter((log) => log.entry.event === 'backupBlob').map((log) => log.entry.outcome)).toEqual(Array(8).fill('copied'));
    for (const [name, content] of contents) {
      const key = backupKeyFor(
        { account: cloud.stack.azure.accountName, container: cloud.stack.azure.sourceContainer, blobName: name },
        { prefix: cloud.stack.aws.prefix },
      );
      const object = await reader.s3.send(new GetObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key }));
      expect(sameBytes(await bodyOf(object), content)).toBe(true);
    }
  });

  it("replays the poison queue and Event Grid's dead letters once per run, reporting what it skipped", async () => {
    const { clients } = backupDeps;
    const deadLetters = clients.deadLetters;
    if (!deadLetters) throw new Error('the dead-letter container is not configured');
    const poisoned = JSON.stringify(blobEvent(cloud.stack, 'poisoned.txt', { contentLength: 1, etag: '"0x1"' }));
    await clients.poisonQueue.createIfNotExists();
    await clients.poisonQueue.sendMessage(poisoned);
    const lost = blobEvent(cloud.stack, 'dead-lettered.txt', { contentLength: 1, etag: '"0x2"' });
    const folder = `${deadLetters.subscriptionName.toUpperCase()}/2026/12/7/15/`;
    await deadLetters.container.createIfNotExists();
    const written: [string, string][] = [
      ['lost.json', JSON.stringify([{ ...lost, deadLetterReason: 'MaxDeliveryAttemptsExceeded', deliveryAttempts: 30 }])],
      ['torn.json', '[{"id":'],
    ];
    for (const [name, text] of written)
      await deadLetters.container.getBlockBlobClient(`${folder}${name}`).upload(text, Buffer.byteLength(text));

    const logs: CapturedLog[] = [];
    // Another schedule's occurrence than the first test's run: a run of its own. The run is named by the occurrence's
    // time, so each test's schedule fires at a second of its own: at 00:00 UTC, whole-minute schedules all coincide.
    const daily: SweepDeps = { ...deps, config: { ...deps.config, SWEEP_SCHEDULE: '1 0 0 * * *' } };
    await planSweepRun(timer, invocationContext(logs), daily);
    // A second instance firing for the same occurrence replays nothing.
    await planSweepRun(timer, invocationContext(logs), daily);
    const replays = logs.filter((log) => log.entry.event === 'sweepReplay');
    expect(replays).toHaveLength(1);
    expect(replays[0]?.level).toBe('warning');
    expect(replays[0]?.entry).toMatchObject({
      poisonMessages: 1,
      deadLetterEvents: 1,
      deadLettersSkipped: [{ path: `${folder}torn.json`, reason: expect.stringMatching(/\S/) }],
    });
    const backupQueue = queues.getQueueClient(cloud.stack.events.queueName);
    const { receivedMessageItems } = await backupQueue.receiveMessages({ numberOfMessages: 32 });
    const subjects = receivedMessageItems.map((item) => (JSON.parse(item.messageText) as { subject: string }).subject);
    expect(subjects.sort()).toEqual([lost.subject, JSON.parse(poisoned).subject].sort());
    for (const item of receivedMessageItems) await backupQueue.deleteMessage(item.messageId, item.popReceipt);
    await drain(queues.getQueueClient(SWEEP_QUEUE_NAME), (message, into) => sweepRunSlice(message, invocationContext(into), deps), logs);
  });

  it('counts blobs written during an outage, which still wait for their retries, as expected finds, not missed events', async () => {
    // S3 failed and then worked again, as the Function records it; then blobs arrive that S3 lacks.
    const outages = new Outages({ container: deps.state, listingMaxAgeMs: 0 });
    await outages.failing('s3', 'S3: connection refused (ECONNREFUSED)');
    const container = sourceContainer(cloud.stack);
    for (let index = 0; index < 3; index++) await container.getBlockBlobClient(`outage/blob-${index}.bin`).upload('x', 1);
    await outages.working(['s3']);
    const ended = await deps.state.getBlobClient('outages-ended/s3.json').downloadToBuffer();
    expect(JSON.parse(ended.toString())).toMatchObject({ dependency: 's3', firstError: 'S3: connection refused (ECONNREFUSED)' });

    const logs: CapturedLog[] = [];
    // Another schedule's occurrence than the other tests' runs (a second of its own, as above): a run of its own.
    const hourly: SweepDeps = { ...deps, config: { ...deps.config, SWEEP_SCHEDULE: '2 0 * * * *' } };
    await planSweepRun(timer, invocationContext(logs), hourly);
    await drain(queues.getQueueClient(SWEEP_QUEUE_NAME), (message, into) => sweepRunSlice(message, invocationContext(into), hourly), logs);
    const report = logs.find((log) => log.entry.event === 'sweepReport');
    // With lag 0, the same three blobs count as missed events in a run without the outage (the first test).
    expect(report?.entry).toMatchObject({ missedEvents: 0, expectedFinds: 3, enqueued: 3 });
    expect(report?.level).toBe('information');
    await deps.state.deleteBlob('outages-ended/s3.json');
    const backupQueue = queues.getQueueClient(cloud.stack.events.queueName);
    await drain(backupQueue, (message, into) => handleBackfillBatch(message, invocationContext(into), backupDeps), []);
  });

  it('retries a failing slice through the runtime, and on its last delivery gives it up instead of poisoning it', async () => {
    const slice = {
      runId: '2026-01-01T00:00:00.000Z',
      runStartedAt: '2026-01-01T00:00:00.000Z',
      account: cloud.stack.azure.accountName,
      container: cloud.stack.azure.sourceContainer,
      slice: 0,
    };
    // A bucket the role may not list: the slice's S3 listing fails, as it does through an outage.
    const failing: SweepDeps = { ...deps, config: { ...deps.config, BACKUP_BUCKET: 'no-such-bucket' } };
    const delivery = (dequeueCount: number, logs: CapturedLog[]) => {
      const context = invocationContext(logs);
      context.triggerMetadata = { dequeueCount };
      return sweepRunSlice(sweepSliceMessageSchema.parse(slice), context, failing);
    };
    const logs: CapturedLog[] = [];
    await expect(delivery(1, logs)).rejects.toThrow();
    await expect(delivery(MAX_DEQUEUE_COUNT, logs)).resolves.toBeUndefined();
    expect(logs.map((log) => log.entry.outcome)).toEqual(['will-retry', 'abandoned-until-next-run']);
  });

  it('refuses a message that is not a slice, without a retry', async () => {
    const logs: CapturedLog[] = [];
    await sweepRunSlice({ runId: 'yesterday' }, invocationContext(logs), deps);
    expect(logs[0]?.entry).toMatchObject({ event: 'sweepSlice', outcome: 'refused' });
  });
});
