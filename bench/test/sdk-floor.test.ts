import { GetObjectCommand } from '@aws-sdk/client-s3';
import { QueueServiceClient } from '@azure/storage-queue';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureContainer, s3Client } from '../src/clients.ts';
import { sdkFloor } from '../src/sdk-floor.ts';
import { uploadSmallBlobs } from '../src/seed.ts';

// The SDK floor is a bound the bench reports beside blobferry's CPU: prove on the real emulators that it makes the
// requests it claims (every blob lands in S3 byte-identical, conditionally, and every message is deleted).

let cloud: LocalCloud;
const names = ['f1.bin', 'dir/f2.bin', 'ü 3.bin', 'f4.bin', 'f5.bin'];

beforeAll(async () => {
  cloud = await startLocalCloud({ s3: 'moto', log: () => undefined });
  const container = azureContainer(cloud.stack, 'floor');
  await container.createIfNotExists();
  await uploadSmallBlobs({ container, names, size: 64 * 1024 + 3, concurrency: 5 });
});

afterAll(() => cloud?.stop());

describe('sdkFloor', () => {
  it('copies each blob once through a queue of one message per blob, then removes its queue', async () => {
    const floor = await sdkFloor({ stack: cloud.stack, container: 'floor', names, keyPrefix: 'floor/', batchSize: 2, inFlight: 4 });
    expect(floor.objects).toBe(names.length);
    expect(floor.cpuS).toBeGreaterThan(0);
    expect(floor.durationMs).toBeGreaterThan(0);

    const s3 = s3Client(cloud.stack);
    const container = azureContainer(cloud.stack, 'floor');
    for (const name of names) {
      const object = await s3.send(new GetObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: `floor/${name}` }));
      const copied = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
      expect(copied.equals(await container.getBlobClient(name).downloadToBuffer())).toBe(true);
    }
    const queues = QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
    const left: string[] = [];
    for await (const queue of queues.listQueues({ prefix: 'sdk-floor-' })) left.push(queue.name);
    expect(left).toEqual([]);
  });

  it('fails rather than count a blob twice: the objects exist, so the conditional PutObject is refused', async () => {
    await expect(
      sdkFloor({ stack: cloud.stack, container: 'floor', names: names.slice(0, 1), keyPrefix: 'floor/', batchSize: 1, inFlight: 1 }),
    ).rejects.toMatchObject({
      $metadata: { httpStatusCode: 412 },
    });
  });
});
