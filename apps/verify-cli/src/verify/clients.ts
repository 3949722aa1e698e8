import { S3Client } from '@aws-sdk/client-s3';
import { DefaultAzureCredential } from '@azure/identity';
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

export function createContainerClient(config: VerifyConfig): ContainerClient {
  const service =
    config.azure.kind === 'connection-string'
      ? BlobServiceClient.fromConnectionString(config.azure.connectionString, { retryOptions: AZURE_STORAGE_RETRY })
      : new BlobServiceClient(config.azure.accountUrl, new DefaultAzureCredential(), { retryOptions: AZURE_STORAGE_RETRY });
  return service.getContainerClient(config.container);
}

export function createS3Client(config: VerifyConfig): S3Client {
  const credentials = awsCredentials(config.aws);
  return new S3Client({
    ...S3_RETRY,
    ...(config.region ? { region: config.region } : {}),
    ...(config.s3Endpoint ? { endpoint: config.s3Endpoint, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

/** The account URL and container path without query (a SAS never reaches output). */
export function describeSource(container: ContainerClient, prefix: string): string {
  const url = new URL(container.url);
  url.search = '';
  return `${url.toString().replace(/\/$/, '')}/${prefix}`;
}

/** The backup queue, as the caller: a connection string, or DefaultAzureCredential (Storage Queue Data Message Sender). */
export function createQueueClient(target: QueueTarget): QueueClient {
  return target.kind === 'connection-string'
    ? new QueueClient(target.connectionString, target.queueName, { retryOptions: AZURE_STORAGE_RETRY })
    : new QueueClient(target.queueUrl, new DefaultAzureCredential(), { retryOptions: AZURE_STORAGE_RETRY });
}
