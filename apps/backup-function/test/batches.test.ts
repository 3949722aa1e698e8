import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backfillBatch, backfillBatchSchema, backfillMessage, failureRecordName } from '@blobferry/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { blobEvent, blobferry, cliSummary, depsForStack, s3Reader, sourceContainer, waitFor, WITHOUT_SWEEP } from './support.js';

// One backfill batch message through the real path: `blobferry backfill` writes it, the Functions host (its own
// process, the committed host.json) copies its entries side by side. One blob fails permanently, one
// transiently, one in a way the failure model cannot classify (all injected at the local cloud): each is
// handled alone, and the rest of the batch is in S3 without waiting for them.
let workDir: string;
let stack: BackupStack;
let stackFile: string;
const logs: Array<Record<string, unknown>> = [];
/** Long enough that the batch is done well before the transient blob's second attempt. */
const RETRY_DELAY_MS = 6000;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'blobferry-batches-'));
  stackFile = join(workDir, 'stack.json');
  stack = await startBackupStack({
    stackFile,
    log: (entry) => logs.push(entry),
    settings: { ...WITHOUT_SWEEP, RETRY_DELAYS: `${RETRY_DELAY_MS / 1000}s` },
    localCloud: { events: false, faultProxy: true },
    startHost: false,
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await rm(workDir, { recursive: true, force: true });
});

const linesOf = (name: string) =>
  logs.filter(
    (entry) => entry.event === 'backupBlob' && String(entry.url).endsWith(`/${name.split('/').map(encodeURIComponent).join('/')}`),
  );

describe('a backfill batch message', () => {
  it(
    'handles a permanent, a transient and an unclassified failure alone, and copies the rest without waiting',
    { timeout: 300_000 },
    async () => {
      const { stack: cloudStack } = stack.cloud;
      const faults = stack.cloud.faults;
      if (!faults) throw new Error('the local cloud runs without its fault proxy');
      const container = sourceContainer(cloudStack);
      const root = `${cloudStack.aws.prefix}${cloudStack.azure.accountName}/${cloudStack.azure.sourceContainer}/`;
      const tooLong = `batch/${'k'.repeat(1024 - Buffer.byteLength(`${root}batch/`) + 1)}`;
      const healthy = Array.from({ length: 10 }, (_, index) => `batch/ok-${index}.txt`);
      const names = [...healthy, 'batch/gone.txt', 'batch/transient.txt', 'batch/unclassified.txt', tooLong];
      for (const name of names) await container.getBlockBlobClient(name).upload(`bytes of ${name}`, Buffer.byteLength(`bytes of ${name}`));

      const backfill = await blobferry([
        'backfill',
        '--local',
        '--stack',
        stackFile,
        '--json',
        '--journal',
        join(workDir, 'journal.ndjson'),
      ]);
      expect(cliSummary(backfill)).toMatchObject({ missing: names.length, enqueued: names.length });
      // One message for the whole set.
      const [message, ...others] = (await stack.queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems;
      expect(others).toEqual([]);
      const batch = backfillBatchSchema.parse(JSON.parse(message?.messageText ?? '{}'));
      expect(batch.entries.map((entry) => entry.subject.split('/blobs/')[1]).sort()).toEqual([...names].sort());

      // Permanent: the blob is deleted before its copy (and the long name cannot be an S3 key). Transient: S3 denies
      // the upload once (a policy a deploy fixes). Unclassified: S3 answers the upload 400 once.
      await container.deleteBlob('batch/gone.txt');
      faults.failNext({ service: 's3', method: 'PUT', pathIncludes: 'batch/transient.txt', status: 403 });
      faults.failNext({ service: 's3', method: 'PUT', pathIncludes: 'batch/unclassified.txt', status: 400 });
      await stack.startHost();

      await waitFor(async () => logs.some((entry) => entry.event === 'backupBatch'), { timeoutMs: 60_000, what: 'the batch to be done' });
      const done = Date.now();
      const reader = s3Reader(cloudStack);
      // The batch is done, every healthy blob in S3, while the transient one still waits for its retry.
      expect(logs.filter((entry) => entry.event === 'backupBatch')).toMatchObject([
        {
          batchId: batch.id,
          outcome: 'done',
          entries: names.length,
          outcomes: { copied: healthy.length, 'failed-permanent': 2, 'will-retry': 1 },
          sentAlone: 1,
        },
      ]);
      for (const name of healthy) expect((await reader.read(name))?.toString()).toBe(`bytes of ${name}`);
      expect(await reader.read('batch/transient.txt')).toBeUndefined();
      expect(Date.now() - done).toBeLessThan(RETRY_DELAY_MS);

      await waitFor(async () => (await reader.read('batch/transient.txt')) !== undefined, {
        timeoutMs: 60_000,
        what: 'the transient blob',
      });
      await stack.drained();
      expect((await reader.read('batch/transient.txt'))?.toString()).toBe('bytes of batch/transient.txt');
      expect((await reader.read('batch/unclassified.txt'))?.toString()).toBe('bytes of batch/unclassified.txt');
      expect(await reader.read('batch/gone.txt')).toBeUndefined();

      // Each failing blob alone: the transient one re-enqueued with its retry state, the unclassified one sent
      // back as a single message (copied at its first try there), the permanent ones recorded.
      expect(linesOf('batch/transient.txt')).toMatchObject([
        { outcome: 'will-retry', attempt: 1, dependency: 's3', cause: expect.stringMatching(/^S3: 403 /), retryInMs: RETRY_DELAY_MS },
        { outcome: 'copied', attempt: 2, dequeueCount: 1 },
      ]);
      expect(linesOf('batch/unclassified.txt')).toMatchObject([
        { outcome: 'failed-unclassified', cause: expect.stringMatching(/^S3: 400 /) },
        { outcome: 'copied', attempt: 1, dequeueCount: 1 },
      ]);
      expect(linesOf('batch/gone.txt')).toMatchObject([{ outcome: 'failed-permanent', recorded: true }]);
      expect(linesOf(tooLong)).toMatchObject([{ outcome: 'failed-permanent', recorded: true }]);
      for (const name of healthy) expect(linesOf(name)).toMatchObject([{ outcome: 'copied', attempt: 1 }]);
      const { stateContainer } = depsForStack(cloudStack).clients;
      for (const blobName of ['batch/gone.txt', tooLong]) {
        const record = failureRecordName({ account: cloudStack.azure.accountName, container: cloudStack.azure.sourceContainer, blobName });
        expect(await stateContainer.getBlobClient(record).exists()).toBe(true);
      }
      expect((await stack.poisonQueue.peekMessages()).peekedMessageItems).toEqual([]);
      reader.s3.destroy();
    },
  );

  it(
    'validates each entry alone, and refuses a batch whose schema fails (a live event among its entries) whole',
    { timeout: 120_000 },
    async () => {
      const { stack: cloudStack } = stack.cloud;
      const container = sourceContainer(cloudStack);
      await container.getBlockBlobClient('batch/checked.txt').upload('checked', 7);
      const properties = await container.getBlobClient('batch/checked.txt').getProperties();
      const entryFor = (containerName: string) =>
        backfillMessage({
          container: containerName,
          blobUrl: `${cloudStack.azure.blobEndpoint}/${containerName}/batch/checked.txt`,
          blob: { name: 'batch/checked.txt', etag: properties.etag ?? '', lastModified: properties.lastModified ?? new Date(), size: 7 },
        });
      const checked = backfillBatch([entryFor(cloudStack.azure.sourceContainer), entryFor('not-allowed')]);
      const withLiveEvent = {
        ...backfillBatch([entryFor(cloudStack.azure.sourceContainer)]),
        entries: [blobEvent(cloudStack, 'batch/live.txt')],
      };
      await stack.queue.sendMessage(JSON.stringify(checked));
      await stack.queue.sendMessage(JSON.stringify(withLiveEvent));
      await stack.drained();

      const batchLines = logs.filter((entry) => entry.event === 'backupBatch');
      expect(batchLines.find((entry) => entry.batchId === checked.id)).toMatchObject({
        outcome: 'done',
        entries: 2,
        outcomes: { copied: 1, refused: 1 },
        sentAlone: 0,
      });
      expect(batchLines.find((entry) => entry.outcome === 'refused')).toMatchObject({
        reason: expect.stringMatching(/^the batch's entries\.0\.data\.api is malformed/),
      });
      expect((await s3Reader(cloudStack).read('batch/checked.txt'))?.toString()).toBe('checked');
      expect(linesOf('batch/live.txt')).toEqual([]);
    },
  );
});
