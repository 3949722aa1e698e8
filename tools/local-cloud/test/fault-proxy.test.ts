import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../src/index.js';
import { required } from './required.js';

describe('fault proxy', () => {
  let cloud: LocalCloud;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    cloud = await startLocalCloud({ faultProxy: true, log: (entry) => logs.push(entry) });
  });
  afterAll(() => cloud?.stop());

  const faults = () => required(cloud.faults, 'faults (faultProxy: true)');

  function s3(maxAttempts: number) {
    const { aws } = cloud.stack;
    return new S3Client({
      endpoint: aws.s3Endpoint,
      region: aws.region,
      forcePathStyle: true,
      maxAttempts,
      credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
    });
  }

  it('injects one 500 into a matching S3 request, then forwards again (signatures still valid through the proxy)', async () => {
    const { aws } = cloud.stack;
    faults().failNext({ service: 's3', method: 'PUT', pathIncludes: 'flaky.txt', status: 500 });
    await expect(s3(1).send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'flaky.txt', Body: 'x' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 500 },
    });
    await s3(1).send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'flaky.txt', Body: 'second try' }));
    const got = await s3(1).send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'flaky.txt' }));
    expect(await got.Body?.transformToString()).toBe('second try');
    expect(logs.filter((entry) => entry.msg === 'fault injected')).toHaveLength(1);
  });

  it('lets the SDK retry through an injected Azure 500', async () => {
    const container = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getContainerClient(
      cloud.stack.azure.sourceContainer,
    );
    const blob = container.getBlockBlobClient('retried.txt');
    await blob.upload('azure', 5);
    faults().failNext({ service: 'azure', method: 'GET', pathIncludes: 'retried.txt', status: 500 });
    const before = logs.length;
    expect((await blob.downloadToBuffer()).toString()).toBe('azure');
    expect(logs.slice(before).filter((entry) => entry.msg === 'fault injected')).toEqual([
      expect.objectContaining({ service: 'azure', method: 'GET', status: 500 }),
    ]);
  });

  it('cuts a download after afterBytes, so a reader sees a truncated body', async () => {
    const { aws } = cloud.stack;
    await s3(1).send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'cut.bin', Body: Buffer.alloc(64 * 1024, 7) }));
    faults().failNext({ service: 's3', method: 'GET', pathIncludes: 'cut.bin', status: 200, afterBytes: 1000 });
    const got = await s3(1).send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'cut.bin' }));
    await expect(required(got.Body, 'a body').transformToByteArray()).rejects.toThrow();
  });
});
