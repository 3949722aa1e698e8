// The sweep against Azurite (blobs, the state container, the sweep and backup queues) and moto behind the local
// S3 gateway: planned once per run, swept in slices that carry their checkpoint, one report per run, and each
// slice swept once by two workers pulling from the queue at once.
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { backfillBatchSchema, sweepSliceMessageSchema, type SweepSliceMessage } from '@blobferry/contract';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { copyBlobToS3, keyMappingFor } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSweep, sweepSlice, type SweepReport } from '../src/index.js';

const PREFIX = 'sweep/';

describe('the sweep, on the local cloud', () => {
  let cloud: LocalCloud;
  let s3Config: S3ClientConfig;
  let s3: S3Client;
  let blobs: BlobServiceClient;
  let queues: QueueServiceClient;

  beforeAll(async () => {
    cloud = await startLocalCloud({ s3: 'moto', log: () => undefined });
    const { aws, azure } = cloud.stack;
    s3Config = {
      endpoint: aws.s3Endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
    };
    s3 = new S3Client(s3Config);
    blobs = BlobServiceClient.fromConnectionString(azure.connectionString);
    queues = QueueServiceClient.fromConnectionString(azure.connectionString);
  }, 240_000);
  afterAll(async () => {
    s3?.destroy();
    await cloud?.stop();
  });

  const name = (what: string) => `${what}${randomUUID().replaceAll('-', '').slice(0, 12)}`;

  async function freshQueue(what: string): Promise<QueueClient> {
    const queue = queues.getQueueClient(name(what));
    await queue.create();
    return queue;
  }

  async function freshContainer(what: string): Promise<ContainerClient> {
    const container = blobs.getContainerClient(name(what));
    await container.create();
    return container;
  }

  const keysOf = (container: ContainerClient) =>
    keyMappingFor({ account: container.accountName, container: container.containerName, prefix: PREFIX });

  /** 12 blobs: 4 never backed up, 2 changed after their backup, 6 in sync. */
  async function estate(): Promise<ContainerClient> {
    const container = await freshContainer('swept');
    const keys = keysOf(container);
    for (let index = 0; index < 12; index++) {
      const blob = container.getBlockBlobClient(`blob-${String(index).padStart(2, '0')}`);
      await blob.uploadData(Buffer.from(`version 1 of ${index}`));
      if (index % 3 !== 0)
        await copyBlobToS3({ source: { blob }, target: { s3, bucket: cloud.stack.aws.bucket, key: keys.keyOf(blob.name) } });
      if (index % 3 === 1 && index < 6) await blob.uploadData(Buffer.from(`version 2 of ${index}!`));
    }
    return container;
  }

  interface Fleet {
    reports: SweepReport[];
    /** How often each slice (`container#slice`) was swept. */
    swept: Map<string, number>;
  }

  /** Workers taking slices off the sweep queue as the Function's queue trigger does, until it is empty. */
  async function drain(options: {
    sweepQueue: QueueClient;
    backupQueue: QueueClient;
    state: ContainerClient;
    containers: ContainerClient[];
    workers: number;
    eventLagMs: number;
    /** The S3 client the sweep uses (default: the test's). */
    s3?: S3Client;
    inSyncRecordMaxAgeMs?: number;
  }): Promise<Fleet> {
    const fleet: Fleet = { reports: [], swept: new Map() };
    const worker = async () => {
      for (let idle = 0; idle < 3;) {
        const [received] = (await options.sweepQueue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 60 })).receivedMessageItems;
        if (!received) {
          idle += 1;
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        idle = 0;
        const message = sweepSliceMessageSchema.parse(JSON.parse(received.messageText));
        const container = options.containers.find((candidate) => candidate.containerName === message.container);
        if (!container) throw new Error(`no container ${message.container}`);
        const outcome = await sweepSlice({
          message,
          container,
          target: { s3: options.s3 ?? s3, bucket: cloud.stack.aws.bucket },
          keys: keysOf(container),
          backupQueue: options.backupQueue,
          sweepQueue: options.sweepQueue,
          state: options.state,
          eventLagMs: options.eventLagMs,
          maxBlobs: 5,
          ...(options.inSyncRecordMaxAgeMs === undefined ? {} : { inSyncRecordMaxAgeMs: options.inSyncRecordMaxAgeMs }),
        });
        const slice = `${message.container}#${message.slice}`;
        fleet.swept.set(slice, (fleet.swept.get(slice) ?? 0) + 1);
        if (outcome.report) fleet.reports.push(outcome.report);
        await options.sweepQueue.deleteMessage(received.messageId, received.popReceipt);
      }
    };
    await Promise.all(Array.from({ length: options.workers }, worker));
    return fleet;
  }

  async function backfillNames(queue: QueueClient): Promise<string[]> {
    const names: string[] = [];
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) return names.sort();
      for (const item of receivedMessageItems) {
        const batch = backfillBatchSchema.parse(JSON.parse(item.messageText));
        for (const entry of batch.entries) names.push(entry.subject.split('/blobs/')[1] ?? '');
        await queue.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }

  it('plans a run once, sweeps every slice once with two workers, enqueues what S3 lacks or holds stale, reports once', async () => {
    const [swept, empty, state] = await Promise.all([estate(), freshContainer('empty'), freshContainer('state')]);
    const [sweepQueue, backupQueue] = await Promise.all([freshQueue('sweep'), freshQueue('backup')]);
    const runId = new Date().toISOString();
    const containers = [swept, empty].map((container) => ({ account: container.accountName, container: container.containerName }));
    const plan = { runId, runStartedAt: new Date(), containers, sweepQueue, state };

    expect(await planSweep(plan)).toEqual({ planned: true, slicesEnqueued: 2 });
    // Another instance fired for the same occurrence: it plans nothing.
    expect(await planSweep(plan)).toEqual({ planned: false, slicesEnqueued: 0 });

    const fleet = await drain({ sweepQueue, backupQueue, state, containers: [swept, empty], workers: 2, eventLagMs: 0 });

    // 12 blobs in slices of 5: 3 slices, and 1 for the empty container; each swept once.
    expect([...fleet.swept.values()]).toEqual([1, 1, 1, 1]);
    expect(fleet.swept.size).toBe(4);
    expect(await backfillNames(backupQueue)).toEqual(['blob-00', 'blob-01', 'blob-03', 'blob-04', 'blob-06', 'blob-09']);
    expect(fleet.reports).toHaveLength(1);
    expect(fleet.reports[0]).toMatchObject({
      runId,
      containers: 2,
      slices: 4,
      blobs: 12,
      enqueued: 6,
      // Every block blob the sweep repairs was written before the run started (lag 0): each is a missed event.
      missedEvents: 6,
      expectedFinds: 0,
      counts: { inSync: 6, missing: 4, sizeMismatch: 2 },
    });
    const stored = await state.getBlobClient(`sweeps/${runId}/report.json`).downloadToBuffer();
    expect(JSON.parse(stored.toString('utf8'))).toEqual(fleet.reports[0]);
  });

  it('leaves a slice another instance holds, finds a slice delivered again after it was swept done, reports once', async () => {
    const [swept, state] = await Promise.all([estate(), freshContainer('state')]);
    const [sweepQueue, backupQueue] = await Promise.all([freshQueue('sweep'), freshQueue('backup')]);
    const runId = new Date().toISOString();
    await planSweep({
      runId,
      runStartedAt: new Date(),
      containers: [{ account: swept.accountName, container: swept.containerName }],
      sweepQueue,
      state,
    });
    const [first] = (await sweepQueue.receiveMessages({ numberOfMessages: 1 })).receivedMessageItems;
    const message: SweepSliceMessage = sweepSliceMessageSchema.parse(JSON.parse(first?.messageText ?? ''));
    const options = {
      container: swept,
      target: { s3, bucket: cloud.stack.aws.bucket },
      keys: keysOf(swept),
      backupQueue,
      sweepQueue,
      state,
      eventLagMs: 3_600_000,
      maxBlobs: 5,
    };

    // Another instance holds the slice (the queue delivered its message twice): this one leaves it alone.
    const held = await state.getBlockBlobClient(`sweeps/${runId}/slices/${swept.accountName}/${swept.containerName}/00000000.json`);
    await held.upload('{}', 2);
    const holder = held.getBlobLeaseClient();
    await holder.acquireLease(15);
    expect(await sweepSlice({ ...options, message })).toMatchObject({ status: 'busy', result: undefined, next: undefined });
    await holder.releaseLease();

    const once = await sweepSlice({ ...options, message });
    expect(once).toMatchObject({ status: 'swept', next: { slice: 1, from: { targetStartAfter: expect.stringContaining('blob-04') } } });
    // The instance dies after the slice, before deleting its message: it comes back, and finds the slice done.
    expect(await sweepSlice({ ...options, message })).toMatchObject({ status: 'done', next: undefined });
    await sweepQueue.deleteMessage(first?.messageId ?? '', first?.popReceipt ?? '');

    const fleet = await drain({ sweepQueue: sweepQueue, backupQueue, state, containers: [swept], workers: 1, eventLagMs: 3_600_000 });
    expect(fleet.reports).toHaveLength(1);
    // Every difference is a block blob written within the lag: left to its event, none enqueued, none missed.
    expect(await backfillNames(backupQueue)).toEqual([]);
    expect(fleet.reports[0]).toMatchObject({
      slices: 3,
      enqueued: 0,
      deferred: 6,
      missedEvents: 0,
      counts: { missing: 4, sizeMismatch: 2 },
    });
  });

  it('leaves a blob whose copy is under way (an open multipart upload of its key), then enqueues it once there is none', async () => {
    const [swept, state] = await Promise.all([freshContainer('inflight'), freshContainer('state')]);
    const [sweepQueue, backupQueue] = await Promise.all([freshQueue('sweep'), freshQueue('backup')]);
    await swept.getBlockBlobClient('large.bin').uploadData(Buffer.alloc(6 * 1024 * 1024, 7));
    const key = keysOf(swept).keyOf('large.bin');
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: cloud.stack.aws.bucket, Key: key }));
    const run = async () => {
      const runId = new Date().toISOString();
      await planSweep({
        runId,
        runStartedAt: new Date(),
        containers: [{ account: swept.accountName, container: swept.containerName }],
        sweepQueue,
        state,
      });
      const fleet = await drain({ sweepQueue, backupQueue, state, containers: [swept], workers: 1, eventLagMs: 0 });
      return fleet.reports[0];
    };

    expect(await run()).toMatchObject({ counts: { missing: 1 }, enqueued: 0, deferred: 1, missedEvents: 0 });
    expect(await backfillNames(backupQueue)).toEqual([]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: cloud.stack.aws.bucket, Key: key, UploadId: upload.UploadId }));
    expect(await run()).toMatchObject({ counts: { missing: 1 }, enqueued: 1, deferred: 0, missedEvents: 1 });
    expect(await backfillNames(backupQueue)).toEqual(['large.bin']);
  });

  /** An S3 client of its own that counts the HEADs it sends. */
  function headCountingS3(): { client: S3Client; heads: () => number } {
    const client = new S3Client(s3Config);
    let heads = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'HeadObjectCommand') heads += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countHeads' },
    );
    return { client, heads: () => heads };
  }

  it('HEADs only what changed since the last run, finds every change, and HEADs all when its record is damaged or old', async () => {
    const [swept, state] = await Promise.all([freshContainer('recorded'), freshContainer('state')]);
    const [sweepQueue, backupQueue] = await Promise.all([freshQueue('sweep'), freshQueue('backup')]);
    const keys = keysOf(swept);
    const bucket = cloud.stack.aws.bucket;
    // 8 blobs, in slices of 5: 2 slices, 2 records. Every other blob has index tags.
    for (let index = 0; index < 8; index++) {
      const blob = swept.getBlockBlobClient(`blob-${index}`);
      await blob.uploadData(Buffer.from(`content of ${index}`), index % 2 === 0 ? { tags: { kept: `${index}` } } : {});
      await copyBlobToS3({ source: { blob }, target: { s3, bucket, key: keys.keyOf(blob.name) } });
    }
    // The record leaves out objects written within the second before the run (S3 lists whole seconds).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const counting = headCountingS3();
    const run = async (options: { inSyncRecordMaxAgeMs?: number } = {}) => {
      const headsBefore = counting.heads();
      const runId = new Date().toISOString();
      const containers = [{ account: swept.accountName, container: swept.containerName }];
      await planSweep({ runId, runStartedAt: new Date(), containers, sweepQueue, state });
      const fleet = await drain({
        sweepQueue,
        backupQueue,
        state,
        containers: [swept],
        workers: 1,
        eventLagMs: 0,
        s3: counting.client,
        ...options,
      });
      return { report: fleet.reports[0], heads: counting.heads() - headsBefore, enqueued: await backfillNames(backupQueue) };
    };

    // The first run has no record: every pair is HEADed, as before there was one.
    expect(await run()).toMatchObject({ report: { counts: { inSync: 8 }, headsSkippedByRecord: 0 }, heads: 8, enqueued: [] });
    // Nothing changed: no HEAD at all, the same counts.
    expect(await run()).toMatchObject({ report: { blobs: 8, counts: { inSync: 8 }, headsSkippedByRecord: 8 }, heads: 0, enqueued: [] });

    // Behind the sweep's back: metadata set (a new ETag), tags set (no new ETag), the object written again with
    // the same bytes but without the copy's record or the blob's tags (same S3 ETag, a later time), the backup deleted.
    await swept.getBlobClient('blob-1').setMetadata({ changed: 'yes' });
    await swept.getBlobClient('blob-2').setTags({ kept: '2', added: 'tag' });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.keyOf('blob-4'), Body: Buffer.from('content of 4') }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys.keyOf('blob-7') }));
    const changed = await run();
    expect(changed.report).toMatchObject({ blobs: 8, counts: { inSync: 4, missing: 1 }, headsSkippedByRecord: 4 });
    expect(changed.report?.counts['inSync']).toBe(4);
    // Only the three changed pairs on both sides are HEADed; all four changes are sent to the backup queue.
    expect(changed.heads).toBe(3);
    expect(changed.enqueued).toEqual(['blob-1', 'blob-2', 'blob-4', 'blob-7']);

    // A damaged record vouches for nothing: slice 0's is not gzip, slice 1's has a line cut short.
    const records = `sweeps/in-sync/${swept.accountName}/${swept.containerName}/`;
    await state.getBlockBlobClient(`${records}00000000.jsonl.gz`).upload('not a record', 12);
    const cut = gzipSync(`{"version":1}\n["blob-5","${'A'.repeat(22)}",1\n`);
    await state.getBlockBlobClient(`${records}00000001.jsonl.gz`).upload(cut, cut.length);
    expect(await run()).toMatchObject({ report: { counts: { inSync: 4, missing: 1 }, headsSkippedByRecord: 0 }, heads: 7 });
    // The run wrote good records again: only the changed pairs are HEADed; and none is vouched for once its proof is too old.
    expect(await run()).toMatchObject({ report: { counts: { inSync: 4 }, headsSkippedByRecord: 4 }, heads: 3 });
    expect(await run({ inSyncRecordMaxAgeMs: 0 })).toMatchObject({ report: { counts: { inSync: 4 }, headsSkippedByRecord: 0 }, heads: 7 });
    counting.client.destroy();
  });
});
