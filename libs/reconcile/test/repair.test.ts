// reconcile({ deep, repair }) — the engine of `blobferry verify --deep --repair` — against Azurite and moto:
// a corrupt object is replaced in place (If-Match on the ETag it listed), never deleted first.
import { CreateBucketCommand, HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { LocalCloud } from '@blobferry/local-cloud';
import { copyBlobToS3, keyMappingFor, type KeyMapping } from '@blobferry/transfer';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile, type Difference } from '../src/index.js';
import { corruptKeepingMetadata, freshContainer, readObject, recordCommands, s3ClientFor, startCloud } from './support/local-cloud.js';

const MiB = 1024 * 1024;

describe('reconcile with deep and repair against Azurite and moto', () => {
  let cloud: LocalCloud;
  let bucket: string;

  beforeAll(async () => {
    cloud = await startCloud();
    bucket = cloud.stack.aws.bucket;
  }, 240_000);
  afterAll(async () => cloud?.stop());

  /** A fresh container whose blobs are backed up, then corrupted in S3 keeping their metadata. */
  async function corruptBackups(
    s3: S3Client,
    blobs: Record<string, Buffer>,
  ): Promise<{ container: ContainerClient; keys: KeyMapping; listedEtags: Record<string, string> }> {
    const container = await freshContainer(cloud);
    const keys = keyMappingFor({ account: container.accountName, container: container.containerName, prefix: 'reconcile/' });
    const listedEtags: Record<string, string> = {};
    for (const [name, data] of Object.entries(blobs)) {
      const blob = container.getBlockBlobClient(name);
      await blob.uploadData(data);
      await copyBlobToS3({ source: { blob }, target: { s3, bucket, key: keys.keyOf(name) }, partSize: 5 * MiB });
      listedEtags[name] = await corruptKeepingMetadata(s3, bucket, keys.keyOf(name));
    }
    return { container, keys, listedEtags };
  }

  it('replaces corrupt single-part and multipart objects conditionally on the ETags it listed, sending no DeleteObject', async () => {
    const s3 = s3ClientFor(cloud);
    const blobs = { 'small.bin': randomBytes(1000), 'large.bin': randomBytes(9 * MiB) };
    const { container, keys, listedEtags } = await corruptBackups(s3, blobs);
    const sent = recordCommands(s3);
    const differences: Difference[] = [];

    const summary = await reconcile({
      source: { container },
      target: { s3, bucket },
      keys,
      deep: true,
      repair: {},
      onDifference: (difference) => differences.push(difference),
    });

    expect(summary).toMatchObject({ inSync: 0, checksumMismatch: 2, repaired: 2, remaining: 0, error: 0 });
    expect(differences.map((difference) => [difference.kind, difference.repair])).toEqual([
      ['checksumMismatch', { action: 'copy', status: 'done' }],
      ['checksumMismatch', { action: 'copy', status: 'done' }],
    ]);
    expect(sent.map((command) => command.name)).not.toContain('DeleteObjectCommand');
    const commits = sent.filter((command) => command.name === 'PutObjectCommand' || command.name === 'CompleteMultipartUploadCommand');
    expect(Object.fromEntries(commits.map((command) => [command.input.Key, [command.name, command.input.IfMatch]]))).toEqual({
      [keys.keyOf('small.bin')]: ['PutObjectCommand', listedEtags['small.bin']],
      // Over the copy's default part size (8 MiB): a multipart upload, committed by a conditional Complete.
      [keys.keyOf('large.bin')]: ['CompleteMultipartUploadCommand', listedEtags['large.bin']],
    });
    for (const [name, data] of Object.entries(blobs)) expect((await readObject(s3, bucket, keys.keyOf(name))).equals(data)).toBe(true);
    expect(await reconcile({ source: { container }, target: { s3, bucket }, keys, deep: true })).toMatchObject({ inSync: 2, remaining: 0 });
  });

  it('leaves the object alone when another writer replaced it between the listing and the write: If-Match refuses', async () => {
    const s3 = s3ClientFor(cloud);
    const data = randomBytes(1000);
    const { container, keys, listedEtags } = await corruptBackups(s3, { 'raced.bin': data });
    const key = keys.keyOf('raced.bin');
    let racedEtag = '';
    // Right before the repair's PutObject, someone else overwrites the object (keeping its metadata again).
    const sent = recordCommands(s3, {
      commandName: 'PutObjectCommand',
      run: async () => void (racedEtag = await corruptKeepingMetadata(s3ClientFor(cloud), bucket, key)),
    });
    const differences: Difference[] = [];

    const summary = await reconcile({
      source: { container },
      target: { s3, bucket },
      keys,
      deep: true,
      repair: {},
      onDifference: (difference) => differences.push(difference),
    });

    expect(summary).toMatchObject({ checksumMismatch: 1, repaired: 0, remaining: 1 });
    expect(differences[0]?.repair).toMatchObject({
      action: 'copy',
      status: 'skipped',
      detail: expect.stringMatching(/changed since it was listed/),
    });
    const puts = sent.filter((command) => command.name === 'PutObjectCommand');
    expect(puts.map((command) => command.input.IfMatch)).toEqual([listedEtags['raced.bin']]);
    expect(sent.map((command) => command.name)).not.toContain('DeleteObjectCommand');
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag).toBe(racedEtag);
    expect(racedEtag).not.toBe(listedEtags['raced.bin']);
  });

  it('plans without writing on a dry run', async () => {
    const s3 = s3ClientFor(cloud);
    const { container, keys, listedEtags } = await corruptBackups(s3, { 'planned.bin': randomBytes(100) });
    const sent = recordCommands(s3);
    const summary = await reconcile({ source: { container }, target: { s3, bucket }, keys, deep: true, repair: { dryRun: true } });
    expect(summary).toMatchObject({ checksumMismatch: 1, repaired: 0, remaining: 1 });
    expect(
      sent
        .map((command) => command.name)
        .filter((name) => !['ListObjectsV2Command', 'HeadObjectCommand', 'GetObjectCommand'].includes(name)),
    ).toEqual([]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.keyOf('planned.bin') }))).ETag).toBe(
      listedEtags['planned.bin'],
    );
  });

  // --delete-extra follows libs/transfer's rules for deletes (deleteBackup), as the Function's DELETE_POLICY does:
  // only the object listed, only as a delete marker, and never on a bucket whose versioning is not Enabled,
  // where a delete would remove the backup for good.
  it('deletes an extra object only as a delete marker on a versioned bucket, conditionally on the ETag it listed', async () => {
    const s3 = s3ClientFor(cloud);
    const container = await freshContainer(cloud);
    const keys = keyMappingFor({ account: container.accountName, container: container.containerName, prefix: 'extra/' });
    const key = keys.keyOf('orphan.txt');
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'no blob has this name' }));
    const sent = recordCommands(s3);
    const differences: Difference[] = [];

    const summary = await reconcile({
      source: { container },
      target: { s3, bucket },
      keys,
      repair: { deleteExtra: true },
      onDifference: (difference) => differences.push(difference),
    });

    expect(summary).toMatchObject({ extra: 1, repaired: 1, remaining: 0 });
    expect(differences[0]?.repair).toEqual({ action: 'delete', status: 'done' });
    const deletes = sent.filter((command) => command.name === 'DeleteObjectCommand');
    expect(deletes.map((command) => [command.input.Key, command.input.IfMatch, command.input.VersionId])).toEqual([
      [key, put.ETag, undefined],
    ]);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    expect(versions.DeleteMarkers?.map((marker) => marker.IsLatest)).toEqual([true]);
    expect(versions.Versions?.map((version) => version.ETag)).toEqual([put.ETag]);
  });

  it('refuses to delete an extra object from a bucket that is not versioned, and says what to change', async () => {
    const s3 = s3ClientFor(cloud);
    const plainBucket = `plain-${randomUUID().slice(0, 8)}`;
    await s3.send(new CreateBucketCommand({ Bucket: plainBucket }));
    const container = await freshContainer(cloud);
    const keys = keyMappingFor({ account: container.accountName, container: container.containerName });
    const key = keys.keyOf('orphan.txt');
    const put = await s3.send(new PutObjectCommand({ Bucket: plainBucket, Key: key, Body: 'the only copy' }));
    const sent = recordCommands(s3);
    const differences: Difference[] = [];

    const summary = await reconcile({
      source: { container },
      target: { s3, bucket: plainBucket },
      keys,
      repair: { deleteExtra: true },
      onDifference: (difference) => differences.push(difference),
    });

    expect(summary).toMatchObject({ extra: 1, repaired: 0, remaining: 1 });
    expect(differences[0]?.repair).toMatchObject({
      action: 'delete',
      status: 'failed',
      detail: expect.stringMatching(/needs versioning Enabled on bucket .* which is not versioned.*Enable versioning on the bucket/),
    });
    expect(sent.map((command) => command.name)).not.toContain('DeleteObjectCommand');
    expect((await s3.send(new HeadObjectCommand({ Bucket: plainBucket, Key: key }))).ETag).toBe(put.ETag);
  });
});
