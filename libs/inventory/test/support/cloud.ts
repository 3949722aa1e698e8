import { randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { AZURE_INVENTORY_CONTAINER, AZURE_INVENTORY_RULE, s3InventoryBucketFor, s3InventoryPrefixFor } from '@blobferry/contract';
import { startLocalCloud, type LocalCloud, type WrittenInventoryReports } from '@blobferry/local-cloud';
import { keyMappingFor, type KeyMapping } from '@blobferry/transfer';
import type { AzureReportLocation, S3ReportLocation } from '../../src/index.js';

/** Azurite and moto (S3's UTF-8 listing order and If-Match), logging only warnings. */
export function startCloud(): Promise<LocalCloud> {
  return startLocalCloud({
    s3: 'moto',
    log: (entry) => {
      if (entry.level === 'warn' || entry.level === 'error') process.stderr.write(`${JSON.stringify(entry)}\n`);
    },
  });
}

/** The account's administrator in S3 (the emulator's key pair), as an operator's verify runs. */
export function adminS3(cloud: LocalCloud): S3Client {
  const { aws } = cloud.stack;
  return new S3Client({
    endpoint: aws.s3Endpoint,
    region: aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
  });
}

export function account(cloud: LocalCloud): BlobServiceClient {
  return BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
}

export async function freshContainer(cloud: LocalCloud): Promise<{ container: ContainerClient; keys: KeyMapping }> {
  const container = account(cloud).getContainerClient(`i${randomUUID().replaceAll('-', '')}`);
  await container.create();
  return { container, keys: keyMappingFor({ account: container.accountName, container: container.containerName, prefix: 'inv/' }) };
}

/** Where the local cloud's writer puts the reports; `written` pins one run's manifests instead of the newest. */
export function reportLocations(
  cloud: LocalCloud,
  s3: S3Client,
  written?: WrittenInventoryReports,
): { azure: AzureReportLocation; s3: S3ReportLocation } {
  const bucket = cloud.stack.aws.bucket;
  return {
    azure: {
      container: account(cloud).getContainerClient(AZURE_INVENTORY_CONTAINER),
      rule: AZURE_INVENTORY_RULE,
      ...(written ? { manifest: written.azure.manifest } : {}),
    },
    s3: {
      s3,
      bucket: s3InventoryBucketFor(bucket),
      prefix: s3InventoryPrefixFor(bucket),
      ...(written ? { manifest: written.s3.manifest } : {}),
    },
  };
}

/** Other bytes of the same length under the object's key, keeping its metadata (what the copy recorded). */
export async function corruptKeepingMetadata(s3: S3Client, bucket: string, key: string): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = Buffer.from((await Body?.transformToByteArray()) ?? []);
  bytes[0] = ((bytes[0] ?? 0) + 1) % 256;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Metadata: head.Metadata }));
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
