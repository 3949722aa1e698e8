import { randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';

/**
 * Azurite and moto (the S3 that lists in UTF-8 order and enforces If-Match), logging only warnings. With
 * `faultProxy`, both behind local-cloud's fault proxy, whose `cloud.faults.traffic(service)` counts the bytes each served.
 */
export function startCloud(options: { faultProxy?: boolean } = {}): Promise<LocalCloud> {
  return startLocalCloud({
    s3: 'moto',
    faultProxy: options.faultProxy ?? false,
    log: (entry) => {
      if (entry.level === 'warn' || entry.level === 'error') process.stderr.write(`${JSON.stringify(entry)}\n`);
    },
  });
}

export function s3ClientFor(cloud: LocalCloud, config: Omit<S3ClientConfig, 'endpoint' | 'region' | 'credentials'> = {}): S3Client {
  const { aws } = cloud.stack;
  return new S3Client({
    ...config,
    endpoint: aws.s3Endpoint,
    region: aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
  });
}

export async function freshContainer(cloud: LocalCloud): Promise<ContainerClient> {
  const container = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getContainerClient(
    `r${randomUUID().replaceAll('-', '')}`,
  );
  await container.create();
  return container;
}

export async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from((await Body?.transformToByteArray()) ?? []);
}

/** Overwrites the object with other bytes of the same length, keeping its metadata (what the copy recorded); returns the new ETag. */
export async function corruptKeepingMetadata(s3: S3Client, bucket: string, key: string): Promise<string> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await readObject(s3, bucket, key);
  bytes[0] = ((bytes[0] ?? 0) + 1) % 256;
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Metadata: head.Metadata }));
  return put.ETag ?? '';
}

export interface SentCommand {
  name: string;
  input: Record<string, unknown>;
}

/** Records every command the client sends, and runs `before` (when given) ahead of the first one that matches. */
export function recordCommands(s3: S3Client, before?: { commandName: string; run: () => Promise<void> }): SentCommand[] {
  const sent: SentCommand[] = [];
  let hookPending = before !== undefined;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? '?';
      sent.push({ name, input: args.input as Record<string, unknown> });
      if (hookPending && before?.commandName === name) {
        hookPending = false;
        await before.run();
      }
      return next(args);
    },
    { step: 'initialize', name: `record-${randomUUID()}` },
  );
  return sent;
}
