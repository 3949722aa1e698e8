import { ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';

// How the Functions runtime turns a binding's `connection` into a client: the app setting of that name
// holds a connection string, or `<name>__queueServiceUri` / `<name>__blobServiceUri` / `<name>__accountName`
// (+ `__credential`, `__clientId`) name an identity-based connection. Binding expressions such as
// `%BACKUP_QUEUE_NAME%` resolve from app settings.

/** The host's own storage (timer schedule status and singleton locks), as the runtime names its connection. */
export const HOST_STORAGE_CONNECTION = 'AzureWebJobsStorage';

export function resolveBindingExpression(value: string, settings: Record<string, string | undefined>): string {
  return value.replace(/%([^%]+)%/g, (_match, name: string) => {
    const resolved = settings[name];
    if (resolved === undefined || resolved === '')
      throw new Error(`the binding expression %${name}% names app setting ${name}, which is not set`);
    return resolved;
  });
}

export function queueServiceFor(connection: string, settings: Record<string, string | undefined>): QueueServiceClient {
  const connectionString = settings[connection];
  if (connectionString) return QueueServiceClient.fromConnectionString(connectionString);
  const serviceUri = settings[`${connection}__queueServiceUri`];
  if (!serviceUri) {
    throw new Error(
      `queue connection ${connection} is not configured: set app setting ${connection} (a connection string) or ${connection}__queueServiceUri with ${connection}__credential=managedidentity`,
    );
  }
  return new QueueServiceClient(serviceUri, managedIdentityOf(connection, settings));
}

export function blobServiceFor(connection: string, settings: Record<string, string | undefined>): BlobServiceClient {
  const connectionString = settings[connection];
  if (connectionString) return BlobServiceClient.fromConnectionString(connectionString);
  const accountName = settings[`${connection}__accountName`];
  const serviceUri = settings[`${connection}__blobServiceUri`] ?? (accountName && `https://${accountName}.blob.core.windows.net`);
  if (!serviceUri) {
    throw new Error(
      `blob connection ${connection} is not configured: set app setting ${connection} (a connection string), or ${connection}__accountName or ${connection}__blobServiceUri with ${connection}__credential=managedidentity`,
    );
  }
  return new BlobServiceClient(serviceUri, managedIdentityOf(connection, settings));
}

function managedIdentityOf(connection: string, settings: Record<string, string | undefined>): ManagedIdentityCredential {
  const clientId = settings[`${connection}__clientId`];
  return clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
}
