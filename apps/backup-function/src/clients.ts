import { S3Client } from '@aws-sdk/client-s3';
import type { TokenCredential } from '@azure/identity';
import { type BlobClient, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { fromAzureTokenCredential, managedIdentityCredential } from '@blobferry/federated-credentials';
import { AZURE_STORAGE_RETRY, S3_RETRY } from '@blobferry/retry-policy';
import { type BackupSettings, poisonQueueOf, type QueueConnection } from '@blobferry/contract';
import { backupQueueService, containerByUrl } from './storage.js';
import type { BlobRef } from './validate-event.js';

type AwsCredentialIdentityProvider = ReturnType<typeof fromAzureTokenCredential>;

export interface BackupClients {
  s3: S3Client;
  /** The Function's identity: one TokenCredential, hence one token cache, for Azure Storage, STS and telemetry. */
  azureCredential: TokenCredential;
  /** The one federated provider: every S3 request of every invocation shares its STS session. */
  awsCredentials: AwsCredentialIdentityProvider;
  blobClientFor(blob: BlobRef): BlobClient;
  /**
   * A source account's blob service (listing its containers and directories, sweeping them), at the account URL
   * an event names, or else `https://<account>.blob.core.windows.net`.
   */
  blobServiceFor(account: string, accountUrl?: string): BlobServiceClient;
  /** The account of the backup queue: the backup queue, its poison queue, the sweep queue. */
  queueService: QueueServiceClient;
  /** The backup queue: a transient failure puts its event back with a delay; replays write here. */
  backupQueue: QueueClient;
  /** `<backup queue>-poison`, which the sweep replays. */
  poisonQueue: QueueClient;
  /** STATE_CONTAINER_URL: what the instances share (failure records, outages, the sweep's checkpoints). */
  stateContainer: ContainerClient;
  /** DEAD_LETTER_CONTAINER_URL and the subscription whose dead letters lie there, when configured. */
  deadLetters: { container: ContainerClient; subscriptionName: string } | undefined;
}

export interface CreateClientsOptions {
  /** The backup queue, reached as the queue trigger reaches it (contract `queueConnectionOf`). */
  queue: QueueConnection;
  azureCredential?: TokenCredential;
  awsCredentials?: AwsCredentialIdentityProvider;
}

export class SourceAccountMismatchError extends Error {
  override name = 'SourceAccountMismatchError';
}

/**
 * The Function's managed identity (user-assigned when AZURE_CLIENT_ID names it) as one TokenCredential;
 * one S3 client whose credentials come from that identity through STS, shared by every invocation; one
 * BlobServiceClient per storage account, reading with the same identity; the backup queue's account, the
 * state container and the dead-letter container with it too. `azureCredential` and `awsCredentials` replace
 * the ones built from the configuration (tests).
 */
export function createClients(config: BackupSettings, options: CreateClientsOptions): BackupClients {
  const azureCredential =
    options.azureCredential ?? managedIdentityCredential(config.AZURE_CLIENT_ID ? { managedIdentityClientId: config.AZURE_CLIENT_ID } : {});
  const awsCredentials =
    options.awsCredentials ??
    fromAzureTokenCredential({
      credential: azureCredential,
      roleArn: config.AWS_ROLE_ARN,
      audience: config.TOKEN_AUDIENCE,
      ...(config.AWS_STS_ENDPOINT ? { stsEndpoint: config.AWS_STS_ENDPOINT } : {}),
      stsRegion: config.AWS_REGION,
    });
  const s3 = new S3Client({
    ...S3_RETRY,
    // The copy sends the checksum S3_CHECKSUM names (and none with 'none', for a store that refuses them);
    // the SDK adds none of its own and validates no response it was not asked to.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    region: config.AWS_REGION,
    credentials: awsCredentials,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
  const blobServiceFor = blobServiceFactory(config, azureCredential);
  const queueService = backupQueueService(options.queue, azureCredential, config);
  return {
    s3,
    azureCredential,
    awsCredentials,
    blobClientFor: (blob) => blobServiceFor(blob.account, blob.accountUrl).getContainerClient(blob.container).getBlobClient(blob.blobName),
    blobServiceFor,
    queueService,
    backupQueue: queueService.getQueueClient(options.queue.queueName),
    poisonQueue: queueService.getQueueClient(poisonQueueOf(options.queue.queueName)),
    stateContainer: containerByUrl(config.STATE_CONTAINER_URL, config, azureCredential),
    deadLetters:
      config.DEAD_LETTER_CONTAINER_URL && config.EVENT_SUBSCRIPTION_NAME
        ? {
            container: containerByUrl(config.DEAD_LETTER_CONTAINER_URL, config, azureCredential),
            subscriptionName: config.EVENT_SUBSCRIPTION_NAME,
          }
        : undefined,
  };
}

/**
 * The blob service of a storage account: on Azure `https://<account>.blob.core.windows.net` (or the account URL
 * an event names) with the Function's identity, which needs "Storage Blob Data Reader" on each allowed
 * account; locally (Azurite) the account of AZURE_STORAGE_CONNECTION_STRING, whose key signs the requests,
 * since Azurite serves plain http where a bearer token may not be sent.
 */
function blobServiceFactory(
  config: BackupSettings,
  credential: TokenCredential,
): (account: string, accountUrl?: string) => BlobServiceClient {
  const connectionString = config.AZURE_STORAGE_CONNECTION_STRING;
  if (connectionString) {
    const service = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: AZURE_STORAGE_RETRY });
    return (account) => {
      if (service.accountName.toLowerCase() !== account.toLowerCase()) {
        throw new SourceAccountMismatchError(
          `the account ${account} is not the account of AZURE_STORAGE_CONNECTION_STRING (${service.accountName})`,
        );
      }
      return service;
    };
  }
  const services = new Map<string, BlobServiceClient>();
  return (account, accountUrl = `https://${account}.blob.core.windows.net`) => {
    let service = services.get(accountUrl);
    if (!service) {
      service = new BlobServiceClient(accountUrl, credential, { retryOptions: AZURE_STORAGE_RETRY });
      services.set(accountUrl, service);
    }
    return service;
  };
}
