// reconcile over one page at a time (sourcePageListing), the scheduled sweep's slices, against Azurite and moto:
// the slices together find what one whole-container run finds, and a run stopped after any slice goes on from
// its checkpoint.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { LocalCloud } from '@blobferry/local-cloud';
import { copyBlobToS3, keyMappingFor, type KeyMapping } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile, sourcePageListing, type Difference, type SliceCheckpoint } from '../src/index.js';
import { freshContainer, s3ClientFor, startCloud } from './support/local-cloud.js';

describe('reconcile one page at a time (sourcePageListing)', () => {
  let cloud: LocalCloud;
  let s3: S3Client;
  let bucket: string;
  let container: ContainerClient;
  let keys: KeyMapping;

  beforeAll(async () => {
    cloud = await startCloud();
    s3 = s3ClientFor(cloud);
    bucket = cloud.stack.aws.bucket;
    container = await freshContainer(cloud);
    keys = keyMappingFor({ account: container.accountName, container: container.containerName, prefix: 'slices/' });
    // 23 blobs: every fourth never backed up, every fifth changed after its backup, one object S3 alone has
    // (sorting last), and names in folders, so pages cut across them.
    for (let index = 0; index < 23; index++) {
      const name = `${index % 3 === 0 ? 'folder/' : ''}blob-${String(index).padStart(2, '0')}.txt`;
      const blob = container.getBlockBlobClient(name);
      await blob.uploadData(Buffer.from(`first ${name}`));
      if (index % 4 !== 0) await copyBlobToS3({ source: { blob }, target: { s3, bucket, key: keys.keyOf(name) } });
      if (index % 5 === 0 && index % 4 !== 0) await blob.uploadData(Buffer.from(`second ${name}`));
    }
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.keyOf('zz-only-in-s3.txt'), Body: 'orphan' }));
  }, 240_000);
  afterAll(async () => {
    s3?.destroy();
    await cloud?.stop();
  });

  /** Runs one slice from `from`; returns its differences (by key and kind) and where the next one starts. */
  async function slice(from: SliceCheckpoint | undefined): Promise<{ found: string[]; next: SliceCheckpoint | undefined }> {
    const listing = sourcePageListing({ container, target: { s3, bucket }, keys, maxBlobs: 5, ...(from ? { from } : {}) });
    const found: string[] = [];
    await reconcile({
      source: { container },
      target: { s3, bucket },
      keys,
      listing,
      onDifference: (difference: Difference) => found.push(`${difference.kind} ${difference.key}`),
    });
    return { found, next: listing.next() };
  }

  it('finds in slices of 5 exactly what one run over the container finds', async () => {
    const whole: string[] = [];
    await reconcile({ source: { container }, target: { s3, bucket }, keys, onDifference: (d) => whole.push(`${d.kind} ${d.key}`) });
    expect(whole.filter((line) => line.startsWith('missing'))).toHaveLength(6);
    expect(whole.filter((line) => line.startsWith('stale') || line.startsWith('sizeMismatch'))).toHaveLength(3);
    expect(whole).toContain(`extra ${keys.keyOf('zz-only-in-s3.txt')}`);

    const sliced: string[] = [];
    let slices = 0;
    let from: SliceCheckpoint | undefined;
    do {
      const result = await slice(from);
      sliced.push(...result.found);
      from = result.next;
      slices += 1;
    } while (from);
    expect(slices).toBe(5);
    expect([...sliced].sort()).toEqual([...whole].sort());
  });

  it('goes on from a checkpoint, as a slice message carries it to another instance', async () => {
    const first = await slice(undefined);
    const second = await slice(first.next);
    // A new listing from the same checkpoint (the message delivered again after a crash) sees the same page.
    const again = await slice(first.next);
    expect(again).toEqual(second);
    expect(second.next?.targetStartAfter.startsWith(keys.root)).toBe(true);
    expect(first.found.some((line) => second.found.includes(line))).toBe(false);
  });
});
