import type { QueueServiceClient } from '@azure/storage-queue';
import { INVENTORY_QUEUE_NAME, poisonQueueOf, SWEEP_QUEUE_NAME } from '@blobferry/contract';
import { ensureContainer } from '../azurite.js';
import { BACKUP_BUCKET, BACKUP_QUEUE_NAME, DEAD_LETTER_CONTAINER, SOURCE_CONTAINER, STATE_CONTAINER } from '../constants.js';
import { ensureBucket } from '../s3/ensure-bucket.js';
import type { RunningS3 } from '../s3/running-s3.js';

export interface CreateBackupResourcesOptions {
  connectionString: string;
  /** The host storage, which holds Event Grid's dead-letter container. */
  hostStorageConnectionString: string;
  queues: QueueServiceClient;
  s3: RunningS3;
  /** S3 as clients reach it. */
  s3Endpoint: string;
  region: string;
  /** False for an operator's own, never versioned bucket. */
  versioned: boolean;
}

/**
 * The source container, the state container, the dead-letter container, the backup bucket and the queues, as
 * infra/bicep and infra/aws-iam create them.
 */
export async function createBackupResources(options: CreateBackupResourcesOptions): Promise<void> {
  const { s3 } = options;
  // The queues and their poison queues exist before anything runs, as infra/bicep creates them.
  await Promise.all([
    ensureContainer(options.connectionString, SOURCE_CONTAINER),
    ensureContainer(options.connectionString, STATE_CONTAINER),
    ensureContainer(options.hostStorageConnectionString, DEAD_LETTER_CONTAINER),
    // Versioned as infra/aws-iam makes it; s3rver has no versioning (NotImplemented).
    ensureBucket({
      endpoint: options.s3Endpoint,
      region: options.region,
      credentials: s3.credentials,
      bucket: BACKUP_BUCKET,
      versioned: s3.kind !== 's3rver' && options.versioned,
    }),
    options.queues.getQueueClient(BACKUP_QUEUE_NAME).createIfNotExists(),
    options.queues.getQueueClient(poisonQueueOf(BACKUP_QUEUE_NAME)).createIfNotExists(),
    options.queues.getQueueClient(SWEEP_QUEUE_NAME).createIfNotExists(),
    options.queues.getQueueClient(poisonQueueOf(SWEEP_QUEUE_NAME)).createIfNotExists(),
    options.queues.getQueueClient(INVENTORY_QUEUE_NAME).createIfNotExists(),
    options.queues.getQueueClient(poisonQueueOf(INVENTORY_QUEUE_NAME)).createIfNotExists(),
  ]);
}
