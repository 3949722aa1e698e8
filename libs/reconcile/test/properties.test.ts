// "Properties differ, bytes equal" against Azurite and moto: found where a HEAD is made anyway, and by a
// `properties` run for every pair; repaired in place (never uploading the bytes) or through the queue.
import { GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import type { LocalCloud } from '@blobferry/local-cloud';
import { copyBlobToS3, keyMappingFor, recordedSourceOf, type KeyMapping } from '@blobferry/transfer';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueueJournal, queueRepair, reconcile, type Difference } from '../src/index.js';
import { freshContainer, recordCommands, s3ClientFor, startCloud } from './support/local-cloud.js';

describe('reconcile: properties differ, bytes equal', () => {
  let cloud: LocalCloud;
  let bucket: string;

  beforeAll(async () => {
    cloud = await startCloud();
    bucket = cloud.stack.aws.bucket;
  }, 240_000);
  afterAll(async () => cloud?.stop());

  /** A fresh container with these blobs, each backed up by libs/transfer's copy. */
  async function backedUp(
    blobs: Record<string, { metadata?: Record<string, string>; tags?: Record<string, string> }>,
    layout?: 'blob',
  ): Promise<{ container: ContainerClient; keys: KeyMapping }> {
    const s3 = s3ClientFor(cloud);
    const container = await freshContainer(cloud);
    const keys = keyMappingFor({
      account: container.accountName,
      container: container.containerName,
      prefix: `p${randomUUID().slice(0, 8)}/`,
      ...(layout ? { layout } : {}),
    });
    for (const [name, properties] of Object.entries(blobs)) {
      const blob = container.getBlockBlobClient(name);
      await blob.upload(name, name.length, properties);
      await copyBlobToS3({ source: { blob }, target: { s3, bucket, key: keys.keyOf(name), prefix: keys.prefix } });
    }
    return { container, keys };
  }

  const run = async (options: Omit<Parameters<typeof reconcile>[0], 'target' | 'onDifference'>) => {
    const differences: Difference[] = [];
    const summary = await reconcile({
      ...options,
      target: { s3: s3ClientFor(cloud), bucket },
      onDifference: (difference) => differences.push(difference),
    });
    return { summary, differences };
  };

  it('finds a metadata change where the HEAD it makes anyway shows it, and repairs it in place without a body', async () => {
    const { container, keys } = await backedUp({ 'meta.txt': { metadata: { a: '1' } }, 'same.txt': {} });
    // Last-Modified has one-second resolution on both sides: the change must land in a later second than the copy.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await container.getBlockBlobClient('meta.txt').setMetadata({ a: '2' });

    const found = await run({ source: { container }, keys });
    expect(found.summary).toMatchObject({ propertiesDiffer: 1, stale: 0, inSync: 1, remaining: 1 });
    expect(found.differences).toMatchObject([{ kind: 'propertiesDiffer', key: keys.keyOf('meta.txt'), properties: ['source-version'] }]);

    const s3 = s3ClientFor(cloud);
    const sent = recordCommands(s3);
    const repaired = await reconcile({ source: { container }, target: { s3, bucket }, keys, repair: {} });
    expect(repaired).toMatchObject({ propertiesDiffer: 1, repaired: 1, remaining: 0 });
    const names = sent.map((command) => command.name);
    expect(names).toContain('CopyObjectCommand');
    expect(names.filter((name) => /^(PutObject|UploadPart|CreateMultipartUpload)Command$/.test(name))).toEqual([]);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.keyOf('meta.txt') }));
    expect(recordedSourceOf(head.Metadata).metadata).toEqual({ a: '2' });
    expect((await run({ source: { container }, keys })).summary).toMatchObject({ inSync: 2, remaining: 0 });
  });

  it('finds tag and tier changes (no new ETag) only in a properties run, and mends them in place', async () => {
    const { container, keys } = await backedUp({ 'tags.txt': { tags: { a: '1' } }, 'tier.txt': {}, 'still.txt': { tags: { k: 'v' } } });
    await container.getBlockBlobClient('tags.txt').setTags({ a: '2', b: 'x' });
    await container.getBlockBlobClient('tier.txt').setAccessTier('Cool');
    const storageClassByTier = { Cool: 'STANDARD_IA' } as const;

    // Set Blob Tags and Set Blob Tier change neither ETag nor Last-Modified: the listings call them in sync.
    expect((await run({ source: { container }, keys })).summary).toMatchObject({ inSync: 3, propertiesDiffer: 0 });

    const found = await run({ source: { container }, keys, properties: true, storageClassByTier });
    expect(found.summary).toMatchObject({ inSync: 1, propertiesDiffer: 2 });
    expect(Object.fromEntries(found.differences.map((difference) => [difference.source?.name, difference.properties]))).toEqual({
      'tags.txt': ['tags'],
      'tier.txt': ['access-tier', 'storage-class'],
    });

    const repaired = await run({ source: { container }, keys, properties: true, storageClassByTier, repair: {} });
    expect(repaired.summary).toMatchObject({ propertiesDiffer: 2, repaired: 2, remaining: 0 });
    const s3 = s3ClientFor(cloud);
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: keys.keyOf('tags.txt') }));
    expect(tags.TagSet).toEqual([
      { Key: 'a', Value: '2' },
      { Key: 'b', Value: 'x' },
    ]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.keyOf('tier.txt') }))).StorageClass).toBe('STANDARD_IA');
    expect((await run({ source: { container }, keys, properties: true, storageClassByTier })).summary).toMatchObject({
      inSync: 3,
      remaining: 0,
    });
  });

  it('hands a properties difference to the Function fleet as a backfill message', async () => {
    const { container, keys } = await backedUp({ 'queued.txt': { tags: { a: '1' } } });
    await container.getBlockBlobClient('queued.txt').setTags({ a: '2' });
    const queue = new QueueClient(cloud.stack.azure.connectionString, `q${randomUUID().replaceAll('-', '')}`);
    await queue.create();
    const viaQueue = queueRepair({
      queue,
      container: container.containerName,
      blobUrlOf: (name) => container.getBlobClient(name).url,
      journal: await openQueueJournal(join(tmpdir(), `journal-${randomUUID()}.ndjson`), { expiresAfterMs: 60_000 }),
    });
    const { summary, differences } = await run({ source: { container }, keys, properties: true, repair: { viaQueue } });
    expect(summary).toMatchObject({ propertiesDiffer: 1, enqueued: 1 });
    expect(differences[0]?.repair).toEqual({ action: 'enqueue', status: 'done' });
    const [message] = (await queue.receiveMessages()).receivedMessageItems;
    expect(JSON.parse(message?.messageText ?? '{}')).toMatchObject({
      kind: 'BlobferryBackfillBatch',
      entries: [{ data: { api: 'BlobferryBackfill', url: container.getBlobClient('queued.txt').url } }],
    });
  });

  it('never calls a properties sidecar extra, even where the key root is the prefix (blob layout)', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 10 }, (_, index) => [`field${index}`, 'x'.repeat(300)]));
    const { container, keys } = await backedUp({ 'heavy.txt': { metadata } }, 'blob');
    expect(keys.root).toBe(keys.prefix);
    const { summary } = await run({ source: { container }, keys, properties: true });
    expect(summary).toMatchObject({ inSync: 1, extra: 0, remaining: 0 });
  });
});
