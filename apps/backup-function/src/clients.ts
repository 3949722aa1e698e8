import { S3Client } from '@aws-sdk/client-s3';
import { ManagedIdentityCredential } from '@azure/identity';
import { type BlobClient, BlobServiceClient } from '@azure/storage-blob';
import { fromAzureManagedIdentity } from '@blobferry/federated-credentials';
import { AZURE_STORAGE_RETRY, S3_RETRY } from '@blobferry/retry-policy';
import type { BackupConfig } from './config.js';
import type { BlobRef } from './validate-event.js';

export interface BackupClients {
  s3: S3Client;
  awsCredentials: ReturnType<typeof fromAzureManagedIdentity>;
  blobClientFor(blob: BlobRef): BlobClient;
}

export class SourceAccountMismatchError extends Error {
  override name = 'SourceAccountMismatchError';
}

/**
 * One S3 client (its credentials come from the Function's managed identity through STS, refreshed
 * ahead of expiry and shared by every invocation) and one BlobServiceClient per storage account.
 */
export function createClients(
  config: BackupConfig,
  options: { awsCredentials?: ReturnType<typeof fromAzureManagedIdentity> } = {},
): BackupClients {
  const awsCredentials = options.awsCredentials ?? fromAzureManagedIdentity({
    roleArn: config.AWS_ROLE_ARN,
    audience: config.TOKEN_AUDIENCE,
    ...(config.AZURE_CLIENT_ID ? { managedIdentityClientId: config.AZURE_CLIENT_ID } : {}),
    ...(config.AWS_STS_ENDPOINT ? { stsEndpoint: config.AWS_STS_ENDPOINT } : {}),
    stsRegion: config.AWS_REGION,
  });
  const s3 = new S3Client({
    ...S3_RETRY,
    region: config.AWS_REGION,
    credentials: awsCredentials,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
  return { s3, awsCredentials, blobClientFor: blobClientFactory(config) };
}

function blobClientFactory(config: BackupConfig): (blob: BlobRef) => BlobClient {
  const connectionString = config.AZURE_STORAGE_CONNECTION_STRING;
  if (connectionString) {
    // Local use (Azurite): Azurite serves plain http, where a bearer token may not be sent, so
    // the account key in the connection string signs the requests instead.
    const service = BlobServiceClient.fromConnectionString(connectionString, { retryOptions: AZURE_STORAGE_RETRY });
    return (blob) => {
      if (service.accountName.toLowerCase() !== blob.account.toLowerCase()) {
        throw new SourceAccountMismatchError(
          `the event's account ${blob.account} is not the account of AZURE_STORAGE_CONNECTION_STRING (${service.accountName})`,
        );
      }
      return service.getContainerClient(blob.container).getBlobClient(blob.blobName);
    };
  }
  // On Azure: the Function's managed identity (user-assigned when AZURE_CLIENT_ID names it)
  // needs "Storage Blob Data Reader" on each allowed account.
  const credential = config.AZURE_CLIENT_ID
    ? new ManagedIdentityCredential({ clientId: config.AZURE_CLIENT_ID })
    : new ManagedIdentityCredential();
  const services = new Map<string, BlobServiceClient>();
  return (blob) => {
    let service = services.get(blob.accountUrl);
    if (!service) {
      service = new BlobServiceClient(blob.accountUrl, credential, { retryOptions: AZURE_STORAGE_RETRY });
      services.set(blob.accountUrl, service);
    }
    return service.getContainerClient(blob.container).getBlobClient(blob.blobName);
  };
}
