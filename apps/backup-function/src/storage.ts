import type { TokenCredential } from '@azure/identity';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { QUEUE_CONNECTION, type BackupSettings } from '@blobferry/contract';
import { AZURE_STORAGE_RETRY } from '@blobferry/retry-policy';

/**
 * The queue service of the backup queue, reached as the queue trigger's own connection is: the app setting
 * BACKUP_QUEUE holds a connection string (local), or BACKUP_QUEUE__queueServiceUri names the service and the
 * Function's identity signs in (Azure). The app sends to it (the sweep's slices and backfill messages).
 */
export function backupQueueService(env: Record<string, string | undefined>, credential: TokenCredential): QueueServiceClient {
  const connectionString = env[QUEUE_CONNECTION];
  if (connectionString) return QueueServiceClient.fromConnectionString(connectionString, { retryOptions: AZURE_STORAGE_RETRY });
  const serviceUri = env[`${QUEUE_CONNECTION}__queueServiceUri`];
  if (!serviceUri) {
    throw new Error(
      `the queue connection is not configured: set ${QUEUE_CONNECTION}__queueServiceUri (Azure) or ${QUEUE_CONNECTION} (a connection string)`,
    );
  }
  return new QueueServiceClient(serviceUri, credential, { retryOptions: AZURE_STORAGE_RETRY });
}

/**
 * STATE_CONTAINER_URL, signed by the Function's identity; locally (Azurite serves plain http, where a bearer
 * token may not be sent) by the account key of AZURE_STORAGE_CONNECTION_STRING, at the URL's own endpoint
 * (the host storage, which raises no blob events, as on Azure).
 */
export function stateContainer(config: BackupSettings, credential: TokenCredential): ContainerClient {
  const connectionString = config.AZURE_STORAGE_CONNECTION_STRING;
  if (connectionString) {
    const field = (name: string) => new RegExp(`(?:^|;)${name}=([^;]+)`).exec(connectionString)?.[1] ?? '';
    const key = new StorageSharedKeyCredential(field('AccountName'), field('AccountKey'));
    return new ContainerClient(config.STATE_CONTAINER_URL, key, { retryOptions: AZURE_STORAGE_RETRY });
  }
  return new ContainerClient(config.STATE_CONTAINER_URL, credential, { retryOptions: AZURE_STORAGE_RETRY });
}
