import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import type { Stack } from '@blobferry/local-cloud';
import { AZURE_STORAGE_RETRY, S3_RETRY } from '@blobferry/retry-policy';
import { withUnsignedPayload } from '@blobferry/transfer';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { mapConcurrently } from './pool.js';

// The floor the SDKs alone put under the backup function's CPU per small blob: the requests the Functions host
// and the function make for one fresh blob, through the same SDK clients with the same options, and nothing
// else (no event parsing, no ordering judgement, no logs, no telemetry, no host). Per blob:
// - a share of one queue receive (host.json's batchSize messages at once) and one queue delete (@azure/storage-queue);
// - the blob's GET with its properties (@azure/storage-blob, the connection string the local function reads with);
// - one PutObject with Content-MD5, CRC32 and If-None-Match: *, signed UNSIGNED-PAYLOAD as the copy signs it.
// What the floor's process spends on these, per blob, is what blobferry cannot go below with these SDKs.

export interface SdkFloorOptions {
  stack: Stack;
  container: string;
  names: string[];
  keyPrefix: string;
  /** Messages per receive (host.json batchSize). */
  batchSize: number;
  /** Messages worked on at once (the host's batchSize + newBatchThreshold). */
  inFlight: number;
}

export interface SdkFloorResult {
  objects: number;
  durationMs: number;
  /** This process's CPU over the requests alone (its start-up and the queue's filling excluded). */
  cpuS: number;
}

function crc32Base64(body: Buffer): string {
  const value = Buffer.alloc(4);
  value.writeUInt32BE(crc32(body));
  return value.toString('base64');
}

async function bodyOf(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream ?? []) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function sdkFloor(o: SdkFloorOptions): Promise<SdkFloorResult> {
  const { stack } = o;
  const blobs = BlobServiceClient.fromConnectionString(stack.azure.connectionString, {
    retryOptions: AZURE_STORAGE_RETRY,
  }).getContainerClient(o.container);
  const queue = QueueServiceClient.fromConnectionString(stack.azure.connectionString).getQueueClient(`sdk-floor-${process.pid}`);
  const s3 = new S3Client({
    ...S3_RETRY,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    region: stack.aws.region,
    credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
    endpoint: stack.aws.s3Endpoint,
    forcePathStyle: true,
  });
  await queue.create();
  try {
    await mapConcurrently(o.names, 16, (name) => queue.sendMessage(JSON.stringify({ name })));

    async function copyOne(message: { messageId: string; popReceipt: string; messageText: string }): Promise<void> {
      const { name } = JSON.parse(message.messageText) as { name: string };
      const download = await blobs.getBlobClient(name).download(0);
      const body = await bodyOf(download.readableStreamBody);
      await s3.send(
        withUnsignedPayload(
          new PutObjectCommand({
            Bucket: stack.aws.bucket,
            Key: `${o.keyPrefix}${name}`,
            Body: body,
            ContentLength: body.length,
            ContentMD5: createHash('md5').update(body).digest('base64'),
            ChecksumAlgorithm: 'CRC32',
            ChecksumCRC32: crc32Base64(body),
            IfNoneMatch: '*',
          }),
        ),
      );
      await queue.deleteMessage(message.messageId, message.popReceipt);
    }

    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    let copied = 0;
    // Each puller receives a batch and works on all of it, so at most `inFlight` messages are in flight.
    const pullers = Math.max(1, Math.floor(o.inFlight / o.batchSize));
    await Promise.all(
      Array.from({ length: pullers }, async () => {
        for (;;) {
          const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: o.batchSize, visibilityTimeout: 600 });
          if (receivedMessageItems.length === 0) return;
          await Promise.all(receivedMessageItems.map(copyOne));
          copied += receivedMessageItems.length;
        }
      }),
    );
    const cpu = process.cpuUsage(cpuAtStart);
    if (copied !== o.names.length) throw new Error(`the SDK floor copied ${copied} of ${o.names.length} blobs`);
    return { objects: copied, durationMs: performance.now() - started, cpuS: (cpu.user + cpu.system) / 1e6 };
  } finally {
    await queue.delete();
    s3.destroy();
  }
}
