import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { AZURE_STORAGE_RETRY, S3_RETRY } from '@blobferry/retry-policy';
import type { S3EndpointFeatures } from '../../src/s3-endpoint.js';

export interface CloudEndpoints {
  azure: { connectionString: string };
  aws: {
    region: string;
    s3Endpoint: string;
    bucket: string;
    emulatorAccessKeyId: string;
    emulatorSecretAccessKey: string;
    s3Features: S3EndpointFeatures;
  };
}

export const MiB = 1024 * 1024;

/** Configured as production configures its clients, with blobferry's retry policy. */
export function s3ClientFor(stack: CloudEndpoints): S3Client {
  return new S3Client({
    ...S3_RETRY,
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
  });
}

export async function freshContainer(stack: CloudEndpoints): Promise<ContainerClient> {
  const service = BlobServiceClient.fromConnectionString(stack.azure.connectionString, { retryOptions: AZURE_STORAGE_RETRY });
  const container = service.getContainerClient(`t${randomUUID().replaceAll('-', '')}`);
  await container.create();
  return container;
}

export function bytes(length: number): Buffer {
  return randomBytes(length);
}

export function md5Of(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

export async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!response.Body) throw new Error(`no body for ${key}`);
  return Buffer.from(await response.Body.transformToByteArray());
}

export async function objectExists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

/** Open multipart uploads under a key (moto implements ListMultipartUploads; s3rver does not). */
export async function openUploads(s3: S3Client, bucket: string, key: string): Promise<number> {
  const response = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  return (response.Uploads ?? []).filter((upload) => upload.Key === key).length;
}

/** Records the names of the S3 commands a client sends, in order. */
export function recordCommands(s3: S3Client): string[] {
  const seen: string[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      seen.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: `record-${randomUUID()}` },
  );
  return seen;
}

/** Runs `hook` before the command named `commandName` is sent for the `nth` time (1-based). */
export function beforeCommand(
  s3: S3Client,
  commandName: string,
  nth: number,
  hook: (input: Record<string, unknown>) => Promise<void>,
): void {
  let count = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName && ++count === nth) await hook(args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'initialize', name: `hook-${randomUUID()}` },
  );
}

/** The fault proxy of a cloud started with `faultProxy: true`. */
export function faultsOf<T extends { faults?: unknown }>(cloud: T): NonNullable<T['faults']> {
  if (!cloud.faults) throw new Error('local cloud started without its fault proxy');
  return cloud.faults as NonNullable<T['faults']>;
}
