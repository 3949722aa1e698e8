import { createHash } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { BACKUP_METADATA } from '@blobferry/contract';
import { fromAzureTokenCredential } from '@blobferry/federated-credentials';
import type { LocalCloud, Stack } from '@blobferry/local-cloud';
import { AZURE_STORAGE_RETRY, S3_RETRY } from '@blobferry/retry-policy';
import { backupKeyFor, copyBlobToS3, keyMappingFor, type KeyMapping } from '@blobferry/transfer';

export const MiB = 1024 * 1024;

/** The local person's token endpoint (a signed-in `az login`, locally). */
export class LocalUserCredential implements TokenCredential {
  constructor(private readonly stack: Stack) {}

  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const url = new URL(this.stack.identity.operatorUser.tokenEndpoint);
    url.searchParams.set('resource', (Array.isArray(scopes) ? (scopes[0] ?? '') : scopes).replace(/\/\.default$/, ''));
    const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': this.stack.identity.identityHeader } });
    const body = (await response.json()) as { access_token: string; expires_on: string };
    return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000 };
  }
}

/** S3 as the restore operator reaches it: the person's token, STS, the read-only restore role. */
export function restoreRoleS3(stack: Stack): S3Client {
  return new S3Client({
    ...S3_RETRY,
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    credentials: fromAzureTokenCredential({
      credential: new LocalUserCredential(stack),
      roleArn: stack.aws.restoreRoleArn,
      audience: stack.identity.audience,
      stsEndpoint: stack.aws.stsEndpoint,
    }),
  });
}

/** S3 as the backup Function reaches it: its managed identity, STS, the backup role. */
export function backupRoleS3(cloud: LocalCloud): S3Client {
  const { stack } = cloud;
  return new S3Client({
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: fromAzureTokenCredential({
      credential: {
        getToken: async () => ({
          token: await cloud.identity.mintToken({ identity: 'backup' }),
          expiresOnTimestamp: Date.now() + 3_600_000,
        }),
      },
      roleArn: stack.aws.roleArn,
      audience: stack.identity.audience,
      stsEndpoint: stack.aws.stsEndpoint,
    }),
  });
}

/** The account administrator (writes the backups the tests restore from). */
export function adminS3(stack: Stack): S3Client {
  return new S3Client({
    ...S3_RETRY,
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
  });
}

export function containerOf(stack: Stack, name: string): ContainerClient {
  return BlobServiceClient.fromConnectionString(stack.azure.connectionString, { retryOptions: AZURE_STORAGE_RETRY }).getContainerClient(
    name,
  );
}

export function keysOf(stack: Stack, container: string): KeyMapping {
  return keyMappingFor({ account: stack.azure.accountName, container, prefix: stack.aws.prefix });
}

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A backup of the blob's current version, as the Function writes it (libs/transfer's copy). */
export async function backUp(stack: Stack, source: ContainerClient, name: string, partSize = 8 * MiB): Promise<void> {
  const key = backupKeyFor(
    { account: stack.azure.accountName, container: source.containerName, blobName: name },
    { prefix: stack.aws.prefix },
  );
  await copyBlobToS3({
    source: { blob: source.getBlobClient(name) },
    target: { s3: adminS3(stack), bucket: stack.aws.bucket, key, prefix: stack.aws.prefix, features: stack.aws.s3Features },
    partSize,
  });
}

/** A delete marker over a blob's backup, as DELETE_POLICY=delete-marker places it. */
export async function deleteBackup(stack: Stack, keys: KeyMapping, name: string): Promise<void> {
  await adminS3(stack).send(new DeleteObjectCommand({ Bucket: stack.aws.bucket, Key: keys.keyOf(name) }));
}

/** A version written straight to S3 as a backup records it (a backfill long after the blob was written). */
export async function writeBackupVersion(
  stack: Stack,
  keys: KeyMapping,
  name: string,
  body: Buffer,
  sourceLastModified: Date,
): Promise<void> {
  await adminS3(stack).send(
    new PutObjectCommand({
      Bucket: stack.aws.bucket,
      Key: keys.keyOf(name),
      Body: body,
      ContentType: 'application/octet-stream',
      ChecksumAlgorithm: 'CRC32',
      Metadata: {
        [BACKUP_METADATA.sourceEtag]: '0x8DCLATE',
        [BACKUP_METADATA.sourceLastModified]: sourceLastModified.toISOString(),
        [BACKUP_METADATA.sourceMd5]: createHash('md5').update(body).digest('base64'),
      },
    }),
  );
}

/** S3 object tags on the key's current version: where the backup keeps a blob's index tags. */
export async function tagBackup(stack: Stack, keys: KeyMapping, name: string, tags: Record<string, string>): Promise<void> {
  await adminS3(stack).send(
    new PutObjectTaggingCommand({
      Bucket: stack.aws.bucket,
      Key: keys.keyOf(name),
      Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
    }),
  );
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
