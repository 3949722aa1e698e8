// copyBlobToS3's `target.replace`: a repair overwrites the one corrupt object it found, conditionally
// (If-Match on that object's ETag), without deleting it first. moto enforces If-Match; s3rver ignores it.
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyBlobToS3 } from '../src/index.js';
import {
  MiB,
  beforeCommand,
  bytes,
  freshContainer,
  readObject,
  recordCommands,
  s3ClientFor,
  type CloudEndpoints,
} from './support/clients.js';
import { startCloud } from './support/cloud.js';

const partSize = 5 * MiB;

describe('copyBlobToS3 with target.replace against Azurite and moto', () => {
  let cloud: LocalCloud;
  let stack: CloudEndpoints;
  let container: ContainerClient;
  let bucket: string;
  const s3 = () => s3ClientFor(stack);

  beforeAll(async () => {
    cloud = await startCloud('moto');
    stack = cloud.stack;
    bucket = stack.aws.bucket;
    container = await freshContainer(stack);
  }, 240_000);
  afterAll(async () => cloud?.stop());

  /** Backs the blob up, then overwrites the object's bytes (same length) keeping every piece of its metadata. */
  async function corruptBackup(client: S3Client, name: string, data: Buffer): Promise<{ key: string; s3Etag: string }> {
    const blob = container.getBlockBlobClient(name);
    await blob.uploadData(data);
    const key = `replace/${name}`;
    expect((await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key }, partSize })).outcome).toBe('copied');
    const s3Etag = await overwriteKeepingMetadata(client, key);
    return { key, s3Etag };
  }

  async function overwriteKeepingMetadata(client: S3Client, key: string): Promise<string> {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const corrupted = Buffer.from((await Body?.transformToByteArray()) ?? []);
    corrupted[0] = ((corrupted[0] ?? 0) + 1) % 256;
    const put = await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: corrupted, Metadata: head.Metadata, ContentType: head.ContentType }),
    );
    return put.ETag ?? '';
  }

  it('without replace, calls a corrupt object that records this source version up to date', async () => {
    const client = s3();
    const data = bytes(1000);
    const { key } = await corruptBackup(client, 'plain.bin', data);
    const result = await copyBlobToS3({ source: { blob: container.getBlobClient('plain.bin') }, target: { s3: client, bucket, key } });
    expect(result.outcome).toBe('skipped-up-to-date');
    expect((await readObject(client, bucket, key)).equals(data)).toBe(false);
  });

  it.each([
    ['a single PutObject', 1000, 'PutObjectCommand'],
    ['a multipart upload', 6 * MiB, 'CompleteMultipartUploadCommand'],
  ])('replaces the named object in place with %s, If-Match on its ETag, never deleting it', async (_label, size, commit) => {
    const client = s3();
    const data = bytes(size);
    const name = `in-place-${size}.bin`;
    const { key, s3Etag } = await corruptBackup(client, name, data);
    const commands = recordCommands(client);
    let commitInput: Record<string, unknown> | undefined;
    beforeCommand(client, commit, 1, async (input) => void (commitInput = input));

    const result = await copyBlobToS3({
      source: { blob: container.getBlobClient(name) },
      target: { s3: client, bucket, key, replace: { s3Etag } },
      partSize,
    });

    expect(result.outcome).toBe('copied');
    expect((await readObject(client, bucket, key)).equals(data)).toBe(true);
    expect(commitInput?.IfMatch).toBe(s3Etag);
    expect(commands).not.toContain('DeleteObjectCommand');
  });

  it('leaves an object that is no longer the named one alone (the judge decides as usual)', async () => {
    const client = s3();
    const data = bytes(1000);
    const { key, s3Etag } = await corruptBackup(client, 'moved-on.bin', data);
    const current = await overwriteKeepingMetadata(client, key);
    expect(current).not.toBe(s3Etag);
    const commands = recordCommands(client);
    const result = await copyBlobToS3({
      source: { blob: container.getBlobClient('moved-on.bin') },
      target: { s3: client, bucket, key, replace: { s3Etag } },
    });
    expect(result.outcome).toBe('skipped-up-to-date');
    expect(commands).not.toContain('PutObjectCommand');
    expect((await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag).toBe(current);
  });

  it('refuses to write when the object changes between the check and the conditional write, and the object stays', async () => {
    const client = s3();
    const data = bytes(1000);
    const { key, s3Etag } = await corruptBackup(client, 'raced.bin', data);
    let racedEtag = '';
    // Right before the PutObject, another writer replaces the object (again with this source version's metadata).
    beforeCommand(client, 'PutObjectCommand', 1, async () => {
      racedEtag = await overwriteKeepingMetadata(s3ClientFor(stack), key);
    });
    const commands = recordCommands(client);
    const result = await copyBlobToS3({
      source: { blob: container.getBlobClient('raced.bin') },
      target: { s3: client, bucket, key, replace: { s3Etag } },
    });

    // moto answered 412 to If-Match: <the named ETag>; the re-check finds an object that is not the named one.
    expect(result.outcome).toBe('skipped-up-to-date');
    expect(commands.filter((command) => command === 'PutObjectCommand')).toHaveLength(1);
    expect(commands).not.toContain('DeleteObjectCommand');
    const after = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(after.ETag).toBe(racedEtag);
    expect(racedEtag).not.toBe(s3Etag);
  });
});
