import { ManagedIdentityCredential } from '@azure/identity';
import { QueueServiceClient } from '@azure/storage-queue';

// How the Functions runtime turns a binding's `connection` into a client: the app setting of that name
// holds a connection string, or `<name>__queueServiceUri` (+ `__credential`, `__clientId`) names an
// identity-based connection. Binding expressions such as `%BACKUP_QUEUE_NAME%` resolve from app settings.

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
  const clientId = settings[`${connection}__clientId`];
  return new QueueServiceClient(serviceUri, clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential());
}
