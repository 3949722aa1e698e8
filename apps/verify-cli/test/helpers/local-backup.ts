import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { BACKUP_METADATA } from '@blobferry/contract';
import { backupKeyFor, copyBlobToS3 } from '@blobferry/transfer';
import pLimit from 'p-limit';
import { run } from '../../src/run.js';

export interface LocalBackup {
  cloud: LocalCloud;
  stackFile: string;
  s3: S3Client;
  s3Config: S3ClientConfig;
  bucket: string;
  account: string;
  containerClient(name: string): ContainerClient;
  keyOf(container: string, blobName: string): string;
  stop(): Promise<void>;
}

/**
 * The local cloud with moto as S3: it lists in UTF-8 byte order and pages with continuation tokens
 * like S3 (s3rver does neither reliably), which is what verify's merge depends on. With `faultProxy`,
 * the stack's endpoints are local-cloud's fault proxy (`cloud.faults`).
 */
export async function startLocalBackup(options: { faultProxy?: boolean } = {}): Promise<LocalBackup> {
  const directory = await mkdtemp(join(tmpdir(), 'verify-cli-'));
  const stackFile = join(directory, 'stack.json');
  // `--local` verifies as the backup role; `--repair --delete-extra` needs its s3:DeleteObject, which
  // infra/aws-iam grants with AllowDeleteMarkers=true.
  const cloud = await startLocalCloud({
    s3: 'moto',
    stackFile,
    role: { allowDeleteMarkers: true },
    faultProxy: options.faultProxy ?? false,
    log: () => undefined,
  });
  const { stack } = cloud;
  const s3Config: S3ClientConfig = {
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
  };
  const s3 = new S3Client(s3Config);
  const service = BlobServiceClient.fromConnectionString(stack.azure.connectionString);
  return {
    cloud,
    stackFile,
    s3,
    s3Config,
    bucket: stack.aws.bucket,
    account: stack.azure.accountName,
    containerClient: (name) => service.getContainerClient(name),
    keyOf: (container, blobName) => backupKeyFor({ account: stack.azure.accountName, container, blobName }, { prefix: stack.aws.prefix }),
    stop: async () => {
      s3.destroy();
      await cloud.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Uploads the blobs (single-shot, so Azure records Content-MD5) and backs each up through libs/transfer. */
export async function seedBackedUp(backup: LocalBackup, container: string, blobs: Record<string, string | Buffer>): Promise<void> {
  const client = backup.containerClient(container);
  await client.createIfNotExists();
  const limit = pLimit(16);
  await Promise.all(
    Object.entries(blobs).map(([name, content]) =>
      limit(async () => {
        const blob = client.getBlockBlobClient(name);
        await blob.uploadData(Buffer.from(content));
        await copyBlobToS3({ source: { blob }, target: { s3: backup.s3, bucket: backup.bucket, key: backup.keyOf(container, name) } });
      }),
    ),
  );
}

/**
 * Seeds many objects fast: blobs uploaded and the matching S3 objects written directly, with the
 * metadata a copy records, `concurrency` requests at a time on each side.
 */
export async function seedManyBackedUp(backup: LocalBackup, container: string, names: string[], concurrency = 32): Promise<void> {
  const client = backup.containerClient(container);
  await client.createIfNotExists();
  const limit = pLimit(concurrency);
  // Plain PutObject bodies (no aws-chunked CRC trailer) keep moto's per-request cost down.
  const s3 = new S3Client({ ...backup.s3Config, requestChecksumCalculation: 'WHEN_REQUIRED' });
  await Promise.all(
    names.map((name) =>
      limit(async () => {
        const content = Buffer.from(`content of ${name}`);
        const uploaded = await client.getBlockBlobClient(name).uploadData(content);
        await s3.send(
          new PutObjectCommand({
            Bucket: backup.bucket,
            Key: backup.keyOf(container, name),
            Body: content,
            Metadata: {
              [BACKUP_METADATA.sourceEtag]: (uploaded.etag ?? '').replaceAll('"', ''),
              [BACKUP_METADATA.sourceMd5]: Buffer.from(uploaded.contentMD5 ?? new Uint8Array()).toString('base64'),
            },
          }),
        );
      }),
    ),
  );
  s3.destroy();
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `blobferry` in-process against the local stack, capturing its output. */
export async function blobferry(argv: string[], options: { isTTY?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.isTTY ?? false },
    env: {},
  });
  return { code, stdout, stderr };
}
