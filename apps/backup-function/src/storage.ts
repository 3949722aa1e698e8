import type { TokenCredential } from '@azure/identity';
import { ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { managedIdentityCredential } from '@blobferry/federated-credentials';
import type { BackupSettings, QueueConnection } from '@blobferry/contract';
import { AZURE_STORAGE_RETRY } from '@blobferry/retry-policy';

/**
 * The queue service of the backup queue, reached as the queue trigger's own connection is (libs/contract
 * `queueConnectionOf`): a connection string (local), or the service URI with the identity the connection names
 * (BACKUP_QUEUE__clientId, which infra/bicep makes the app's own). The app sends to it: retries put back, the
 * sweep's slices and repairs, replays.
 */
export function backupQueueService(connection: QueueConnection, credential: TokenCredential, config: BackupSettings): QueueServiceClient {
  if (connection.kind === 'connection-string') {
    return QueueServiceClient.fromConnectionString(connection.connectionString, { retryOptions: AZURE_STORAGE_RETRY });
  }
  const queueCredential =
    connection.clientId === undefined || connection.clientId === config.AZURE_CLIENT_ID
      ? credential
      : managedIdentityCredential({ managedIdentityClientId: connection.clientId });
  return new QueueServiceClient(connection.queueServiceUri, queueCredential, { retryOptions: AZURE_STORAGE_RETRY });
}

/**
 * A container the app keeps or reads state in, by its URL (STATE_CONTAINER_URL, DEAD_LETTER_CONTAINER_URL), signed
 * by the Function's identity; locally (Azurite serves plain http, where a bearer token may not be sent) by the
 * account key of AZURE_STORAGE_CONNECTION_STRING, at the URL's own endpoint (the host storage, which raises no
 * blob events, as on Azure).
 */
export function containerByUrl(url: string, config: BackupSettings, credential: TokenCredential): ContainerClient {
  const connectionString = config.AZURE_STORAGE_CONNECTION_STRING;
  if (connectionString) {
    const field = (name: string) => new RegExp(`(?:^|;)${name}=([^;]+)`).exec(connectionString)?.[1] ?? '';
    const key = new StorageSharedKeyCredential(field('AccountName'), field('AccountKey'));
    return new ContainerClient(url, key, { retryOptions: AZURE_STORAGE_RETRY });
  }
  return new ContainerClient(url, credential, { retryOptions: AZURE_STORAGE_RETRY });
}
