/**
 * The queue trigger's connection, resolved by the Functions runtime (not by the app): on Azure the
 * identity-based settings `BACKUP_QUEUE__queueServiceUri`, `BACKUP_QUEUE__credential` (managedidentity)
 * and `BACKUP_QUEUE__clientId`; locally `BACKUP_QUEUE` holds an Azurite connection string.
 */
export const QUEUE_CONNECTION = 'BACKUP_QUEUE';

/** The app setting that names the queue Event Grid writes to; the trigger reads it as `%BACKUP_QUEUE_NAME%`. */
export const QUEUE_NAME_SETTING = 'BACKUP_QUEUE_NAME';

/** The queue infra/bicep deploys and the local cloud creates. */
export const DEFAULT_BACKUP_QUEUE_NAME = 'blob-events';

/** host.json's `maxDequeueCount`: deliveries of a message before the runtime moves it to its poison queue. */
export const MAX_DEQUEUE_COUNT = 5;

/** The Functions runtime moves a message that failed `maxDequeueCount` times (host.json) to this queue. */
export function poisonQueueOf(queueName: string): string {
  return `${queueName}-poison`;
}

/**
 * The queue of sweep slices (the scheduled sweep's work, one message per slice with its checkpoint), in the
 * account of the backup queue and read through the same connection. A fixed name: a queue trigger's
 * binding expression must resolve at start-up.
 */
export const SWEEP_QUEUE_NAME = 'blob-sweep';

/**
 * The queue of `Microsoft.Storage.BlobInventoryPolicyCompleted` events (an Event Grid subscription of its own on
 * each source account, filtered to that type), in the account of the backup queue and read through the same
 * connection. A report's completion starts an inventory sweep of its account. A queue of its own, not the
 * backup queue: the backup queue carries one blob per message under the copy's failure model (retries, poison,
 * replay), and an inventory event is not a blob to copy.
 */
export const INVENTORY_QUEUE_NAME = 'blob-inventory';

/** The backup queue as the app reaches it itself (to put a message back for a later retry, or to replay into it). */
export type QueueConnection =
  | { kind: 'connection-string'; connectionString: string; queueName: string }
  | { kind: 'managed-identity'; queueServiceUri: string; clientId: string | undefined; queueName: string };

export type QueueConnectionResult = { ok: true; connection: QueueConnection } | { ok: false; error: string };

/**
 * The trigger's connection, read from the same settings the runtime resolves (`BACKUP_QUEUE` as a connection
 * string, or `BACKUP_QUEUE__queueServiceUri` with `BACKUP_QUEUE__clientId` for a user-assigned identity), and
 * the queue `BACKUP_QUEUE_NAME` names. The error names the settings; it never echoes a value.
 */
export function queueConnectionOf(env: Record<string, string | undefined>): QueueConnectionResult {
  const queueName = env[QUEUE_NAME_SETTING]?.trim() || DEFAULT_BACKUP_QUEUE_NAME;
  const connectionString = env[QUEUE_CONNECTION]?.trim();
  if (connectionString) return { ok: true, connection: { kind: 'connection-string', connectionString, queueName } };
  const queueServiceUri = env[`${QUEUE_CONNECTION}__queueServiceUri`]?.trim();
  if (queueServiceUri) {
    const clientId = env[`${QUEUE_CONNECTION}__clientId`]?.trim() || undefined;
    return {
      ok: true,
      connection: { kind: 'managed-identity', queueServiceUri: queueServiceUri.replace(/\/+$/, ''), clientId, queueName },
    };
  }
  return {
    ok: false,
    error: `${QUEUE_CONNECTION}: required: ${QUEUE_CONNECTION}__queueServiceUri (with the managed identity; infra/bicep sets it) or ${QUEUE_CONNECTION} (a connection string, local use)`,
  };
}
