// reconcile({ deep }) — the engine of `blobferry verify --deep` — against Azurite and moto behind the local
// cloud's fault proxy, which counts the bytes each side served: an object carrying a full-object CRC32 or
// CRC32C (as the copy writes it) is checked by reading the blob alone; any other falls back to both sides.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type ChecksumType,
} from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { LocalCloud } from '@blobferry/local-cloud';
import { copyBlobToS3, keyMappingFor, type KeyMapping } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcile, type Difference } from '../src/index.js';
import { freshContainer, recordCommands, s3ClientFor, startCloud, type SentCommand } from './support/local-cloud.js';

const MiB = 1024 * 1024;
const PART_SIZE = 5 * MiB;

type Traffic = ReturnType<NonNullable<LocalCloud['faults']>['traffic']>;

function crc32Base64(data: Uint8Array): string {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(crc32(data));
  return value.toString('base64');
}

describe('reconcile --deep against Azurite and moto', () => {
  let cloud: LocalCloud;
  let bucket: string;

  beforeAll(async () => {
    cloud = await startCloud({ faultProxy: true });
    bucket = cloud.stack.aws.bucket;
  }, 240_000);
  afterAll(async () => cloud?.stop());

  /** What each side served (response bodies) while `run` ran. */
  async function trafficOf<T>(run: () => Promise<T>): Promise<{ result: T; azure: Traffic; s3: Traffic }> {
    const { faults } = cloud;
    if (!faults) throw new Error('the cloud was started without its fault proxy');
    const traffic = () => ({ azure: faults.traffic('azure'), s3: faults.traffic('s3') });
    const before = traffic();
    const result = await run();
    const after = traffic();
    const delta = (service: 'azure' | 's3'): Traffic => ({
      requests: after[service].requests - before[service].requests,
      requestBytes: after[service].requestBytes - before[service].requestBytes,
      responseBytes: after[service].responseBytes - before[service].responseBytes,
    });
    return { result, azure: delta('azure'), s3: delta('s3') };
  }

  /** A fresh container whose blobs are backed up by the copy (multipart above PART_SIZE). */
  async function backedUp(s3: S3Client, blobs: Record<string, Buffer>): Promise<{ container: ContainerClient; keys: KeyMapping }> {
    const container = await freshContainer(cloud);
    const keys = keyMappingFor({ account: container.accountName, container: container.containerName, prefix: 'deep/' });
    for (const [name, data] of Object.entries(blobs)) {
      const blob = container.getBlockBlobClient(name);
      await blob.uploadData(data);
      await copyBlobToS3({ source: { blob }, target: { s3, bucket, key: keys.keyOf(name) }, partSize: PART_SIZE });
    }
    return { container, keys };
  }

  /** Rewrites the object as `body` in two parts, keeping its metadata (what the copy recorded), with the given checksum (if any). */
  async function rewriteMultipart(
    s3: S3Client,
    key: string,
    body: Buffer,
    checksum?: { algorithm: ChecksumAlgorithm; type: ChecksumType },
  ): Promise<void> {
    const { Metadata } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const upload = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        Metadata,
        ...(checksum ? { ChecksumAlgorithm: checksum.algorithm, ChecksumType: checksum.type } : {}),
      }),
    );
    const parts = [];
    for (const [index, data] of [body.subarray(0, PART_SIZE), body.subarray(PART_SIZE)].entries()) {
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: upload.UploadId,
          PartNumber: index + 1,
          Body: data,
          ...(checksum ? { ChecksumAlgorithm: checksum.algorithm } : {}),
        }),
      );
      parts.push({ PartNumber: index + 1, ETag: part.ETag, ...(part.ChecksumCRC32 ? { ChecksumCRC32: part.ChecksumCRC32 } : {}) });
    }
    const fullObject = checksum?.type === 'FULL_OBJECT' ? { ChecksumType: checksum.type, ChecksumCRC32: crc32Base64(body) } : {};
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: parts },
        ...fullObject,
      }),
    );
  }

  const named = (sent: SentCommand[], name: string) => sent.filter((command) => command.name === name);

  it('checks objects the copy wrote by the checksum S3 stores, reading the blobs alone, with one HEAD per object', async () => {
    const s3 = s3ClientFor(cloud);
    const blobs = { 'small.bin': randomBytes(1000), 'large.bin': randomBytes(9 * MiB), 'crc32c.bin': randomBytes(3000) };
    const { container, keys } = await backedUp(s3, blobs);
    // Another writer's identical copy with a CRC32C (single-part: its ETag is the MD5, so the listings alone prove it in sync).
    const { Metadata } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.keyOf('crc32c.bin') }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: keys.keyOf('crc32c.bin'),
        Body: blobs['crc32c.bin'],
        Metadata,
        ChecksumAlgorithm: 'CRC32C',
      }),
    );
    const sent = recordCommands(s3);

    const {
      result: summary,
      azure,
      s3: s3Traffic,
    } = await trafficOf(() => reconcile({ source: { container }, target: { s3, bucket }, keys, deep: true }));

    expect(summary).toMatchObject({ inSync: 3, checksumMismatch: 0, error: 0, deepChecks: { storedChecksum: 3, bothSides: 0 } });
    expect(named(sent, 'GetObjectCommand')).toEqual([]);
    // The multipart object needed a HEAD for its metadata anyway: the same HEAD asked for the checksum.
    const heads = named(sent, 'HeadObjectCommand').map((command) => [command.input.Key, command.input.ChecksumMode]);
    expect(heads.sort()).toEqual(
      Object.keys(blobs)
        .map((name) => [keys.keyOf(name), 'ENABLED'])
        .sort(),
    );
    // S3 served the listing and HEADs (no bodies); Azure every byte of every blob.
    expect(s3Traffic.responseBytes).toBeLessThan(16 * 1024);
    const blobBytes = Object.values(blobs).reduce((total, data) => total + data.length, 0);
    expect(azure.responseBytes).toBeGreaterThanOrEqual(blobBytes);
  });

  it('finds an object whose stored checksum is not the blob content even though its metadata and size look in sync', async () => {
    const s3 = s3ClientFor(cloud);
    const data = randomBytes(PART_SIZE + 4096);
    const { container, keys } = await backedUp(s3, { 'forged.bin': data });
    const key = keys.keyOf('forged.bin');
    // Other bytes of the same size, written with a correct FULL_OBJECT CRC32 of themselves and the copy's metadata.
    const other = Buffer.from(data);
    other[100] = (other[100] ?? 0) ^ 0xff;
    await rewriteMultipart(s3, key, other, { algorithm: 'CRC32', type: 'FULL_OBJECT' });
    expect(await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }))).toMatchObject({
      ChecksumType: 'FULL_OBJECT',
      ChecksumCRC32: crc32Base64(other),
    });
    // The listings and metadata alone cannot tell (a multipart ETag is no MD5; the recorded MD5 is the blob's).
    expect(await reconcile({ source: { container }, target: { s3, bucket }, keys })).toMatchObject({ inSync: 1, checksumMismatch: 0 });
    const sent = recordCommands(s3);
    const differences: Difference[] = [];

    const summary = await reconcile({
      source: { container },
      target: { s3, bucket },
      keys,
      deep: true,
      onDifference: (difference) => differences.push(difference),
    });

    expect(summary).toMatchObject({ inSync: 0, checksumMismatch: 1, remaining: 1, deepChecks: { storedChecksum: 1, bothSides: 0 } });
    expect(differences.map((difference) => [difference.key, difference.kind])).toEqual([[key, 'checksumMismatch']]);
    expect(named(sent, 'GetObjectCommand')).toEqual([]);
  });

  it('falls back to both sides for objects without a full-object checksum, and still finds corrupt content', async () => {
    // As the CLI makes its client: the SDK neither adds checksums to writes nor validates reads.
    const s3 = s3ClientFor(cloud, { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    const blobs = {
      'plain.bin': randomBytes(2000),
      'composite.bin': randomBytes(PART_SIZE + 1000),
      'corrupt.bin': randomBytes(PART_SIZE + 2000),
    };
    const { container, keys } = await backedUp(s3, blobs);
    // Rewritten by other tools, with the copy's metadata: no checksum, a composite CRC32, and other bytes with none.
    const { Metadata } = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.keyOf('plain.bin') }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.keyOf('plain.bin'), Body: blobs['plain.bin'], Metadata }));
    await rewriteMultipart(s3, keys.keyOf('composite.bin'), blobs['composite.bin'], { algorithm: 'CRC32', type: 'COMPOSITE' });
    const corrupt = Buffer.from(blobs['corrupt.bin']);
    corrupt[corrupt.length - 1] = (corrupt.at(-1) ?? 0) ^ 0xff;
    await rewriteMultipart(s3, keys.keyOf('corrupt.bin'), corrupt);
    const plainHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: keys.keyOf('plain.bin'), ChecksumMode: 'ENABLED' }));
    expect([plainHead.ChecksumCRC32, plainHead.ChecksumCRC32C]).toEqual([undefined, undefined]);
    const sent = recordCommands(s3);
    const differences: Difference[] = [];

    const { result: summary, s3: s3Traffic } = await trafficOf(() =>
      reconcile({
        source: { container },
        target: { s3, bucket },
        keys,
        deep: true,
        onDifference: (difference) => differences.push(difference),
      }),
    );

    expect(summary).toMatchObject({ inSync: 2, checksumMismatch: 1, error: 0, deepChecks: { storedChecksum: 0, bothSides: 3 } });
    expect(differences.map((difference) => [difference.key, difference.kind])).toEqual([[keys.keyOf('corrupt.bin'), 'checksumMismatch']]);
    expect(
      named(sent, 'GetObjectCommand')
        .map((command) => command.input.Key)
        .sort(),
    ).toEqual(
      Object.keys(blobs)
        .map((name) => keys.keyOf(name))
        .sort(),
    );
    expect(s3Traffic.responseBytes).toBeGreaterThanOrEqual(Object.values(blobs).reduce((total, data) => total + data.length, 0));
    s3.destroy();
  });
});
