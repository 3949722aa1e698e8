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
