import { S3Client } from '@aws-sdk/client-s3';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { fromAzureManagedIdentity, fromAzureTokenCredential } from '@blobferry/federated-credentials';
import { AZURE_STORAGE_RETRY, S3_RETRY } from '@blobferry/retry-policy';
import { LocalManagedIdentityCredential } from '../local-identity.js';
import type { AwsAuth, QueueTarget, VerifyConfig } from './verify-config.js';

function awsCredentials(auth: AwsAuth) {
  switch (auth.kind) {
    case 'default-chain':
      return undefined; // the SDK's own chain: environment, profiles, SSO, container and instance roles
    case 'federated':
      return fromAzureManagedIdentity({
        roleArn: auth.roleArn,
        audience: auth.audience,
        ...(auth.managedIdentityClientId ? { managedIdentityClientId: auth.managedIdentityClientId } : {}),
        ...(auth.stsEndpoint ? { stsEndpoint: auth.stsEndpoint } : {}),
      });
    case 'local-federated':
      // The local identity plane's App Service style endpoint, handed over explicitly (no process.env writes).
      return fromAzureTokenCredential({
        roleArn: auth.roleArn,
        audience: auth.audience,
        stsEndpoint: auth.stsEndpoint,
        credential: new LocalManagedIdentityCredential(auth),
      });
  }
}

/** The run's one Azure credential, made the first time a client signs in with it (see createVerifyClients). */
type AzureCredentialOf = () => TokenCredential;

function createBlobServiceClient(config: VerifyConfig, azureCredential: AzureCredentialOf): BlobServiceClient {
  return config.azure.kind === 'connection-string'
    ? BlobServiceClient.fromConnectionString(config.azure.connectionString, { retryOptions: AZURE_STORAGE_RETRY })
    : new BlobServiceClient(config.azure.accountUrl, azureCredential(), { retryOptions: AZURE_STORAGE_RETRY });
}

/** Where the S3 client goes and as whom (undefined credentials: the SDK's own chain). */
export interface CliS3ClientOptions {
  region: string | undefined;
  s3Endpoint: string | undefined;
  credentials: ReturnType<typeof fromAzureTokenCredential> | undefined;
}

/**
 * The run's S3 client. Checksums only when an operation requires them (WHEN_REQUIRED, both ways): the
 * code computes what it needs itself (the copy its CRC and Content-MD5, `--deep` the MD5 of an object it
 * reads when no full-object checksum is stored, a restore what it writes back), and the SDK's own response
 * validation would hash every GET body a second time; presigned URLs then carry no checksum parameter.
 */
export function cliS3Client({ region, s3Endpoint, credentials }: CliS3ClientOptions): S3Client {
  return new S3Client({
    ...S3_RETRY,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(region ? { region } : {}),
    ...(s3Endpoint ? { endpoint: s3Endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** The account URL and container path without query (a SAS never reaches output). */
export function describeSource(container: ContainerClient, prefix: string): string {
  const url = new URL(container.url);
  url.search = '';
  return `${url.toString().replace(/\/$/, '')}/${prefix}`;
}

/** The backup queue, as the caller: a connection string, or the run's Azure credential (Storage Queue Data Message Sender). */
function createQueueClient(target: QueueTarget, azureCredential: AzureCredentialOf): QueueClient {
  return target.kind === 'connection-string'
    ? new QueueClient(target.connectionString, target.queueName, { retryOptions: AZURE_STORAGE_RETRY })
    : new QueueClient(target.queueUrl, azureCredential(), { retryOptions: AZURE_STORAGE_RETRY });
}

export interface VerifyClients {
  container: ContainerClient;
  s3: S3Client;
  /** With --repair --via-queue: the backup queue. */
  queue: QueueClient | undefined;
  /** With --inventory: the Azure inventory rule's destination container (in the source account). */
  inventoryContainer: ContainerClient | undefined;
}

/**
 * Every client a verify or backfill run talks through, wired once when the run starts. The Azure clients that
 * sign in (blob service with --account-url, backup queue with --queue-url) share the run's one
 * DefaultAzureCredential, and with it one token cache. It is made only if one of them signs in: a run on
 * connection strings (or --local) makes none, so it never reads AZURE_TOKEN_CREDENTIALS, which the constructor
 * refuses when it names no credential.
 */
export function createVerifyClients(config: VerifyConfig): VerifyClients {
  let credential: TokenCredential | undefined;
  const azureCredential: AzureCredentialOf = () => (credential ??= new DefaultAzureCredential());
  const queue = config.repair?.viaQueue?.queue;
  const service = createBlobServiceClient(config, azureCredential);
  return {
    container: service.getContainerClient(config.container),
    s3: cliS3Client({ region: config.region, s3Endpoint: config.s3Endpoint, credentials: awsCredentials(config.aws) }),
    queue: queue ? createQueueClient(queue, azureCredential) : undefined,
    inventoryContainer: config.inventory ? service.getContainerClient(config.inventory.azure.container) : undefined,
  };
}
