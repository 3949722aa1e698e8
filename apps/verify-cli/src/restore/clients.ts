import type { S3Client } from '@aws-sdk/client-s3';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { fromAzureTokenCredential } from '@blobferry/federated-credentials';
import { AZURE_STORAGE_RETRY } from '@blobferry/retry-policy';
import { LocalManagedIdentityCredential } from '../local-identity.js';
import { cliS3Client } from '../verify/clients.js';
import type { RestoreConfig } from './restore-config.js';

export interface RestoreClients {
  source: ContainerClient;
  target: ContainerClient;
  service: BlobServiceClient;
  s3: S3Client;
}

/**
 * One identity for both clouds: the operator's Azure credential (DefaultAzureCredential: az login, a managed
 * identity, AZURE_* variables) writes Azure and, through STS on the restore role, reads S3. With --local the
 * person's token comes from the local identity plane (the App Service style protocol, on their endpoint), and
 * Azurite, on plain http where no bearer token may go, is written with its connection string.
 */
export function createRestoreClients(config: RestoreConfig): RestoreClients {
  let credential: TokenCredential | undefined;
  const azureCredential = () => (credential ??= new DefaultAzureCredential());
  const service =
    config.azure.kind === 'connection-string'
      ? BlobServiceClient.fromConnectionString(config.azure.connectionString, { retryOptions: AZURE_STORAGE_RETRY })
      : new BlobServiceClient(config.azure.accountUrl, azureCredential(), { retryOptions: AZURE_STORAGE_RETRY });
  const target =
    config.target.kind === 'name'
      ? service.getContainerClient(config.target.name)
      : new ContainerClient(config.target.url, azureCredential(), { retryOptions: AZURE_STORAGE_RETRY });
  const aws = config.aws;
  const credentials =
    aws.kind === 'default-chain'
      ? undefined
      : fromAzureTokenCredential({
          roleArn: aws.roleArn,
          audience: aws.audience,
          ...(aws.stsEndpoint ? { stsEndpoint: aws.stsEndpoint } : {}),
          credential: aws.localUser
            ? new LocalManagedIdentityCredential({
                identityEndpoint: aws.localUser.tokenEndpoint,
                identityHeader: aws.localUser.identityHeader,
              })
            : azureCredential(),
        });
  const s3 = cliS3Client({ region: config.region, s3Endpoint: config.s3Endpoint, credentials });
  return { source: service.getContainerClient(config.container), target, service, s3 };
}
