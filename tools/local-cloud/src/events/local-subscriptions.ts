import { INVENTORY_QUEUE_NAME } from '@blobferry/contract';
import { BACKUP_QUEUE_NAME, EVENT_SUBSCRIPTION_NAME, INVENTORY_SUBSCRIPTION_NAME } from '../constants.js';
import { BLOB_CREATED, BLOB_DELETED, BLOB_TIER_CHANGED } from './blob-created-event.js';
import { BLOB_INVENTORY_POLICY_COMPLETED } from './inventory-completed-event.js';
import type { SubscriptionFilter } from './subscription-filter.js';

// The source account's Event Grid subscriptions, as infra/bicep deploys them: each delivers only the event
// types it includes, into a queue of its own, and dead-letters under its own name.

/** infra/bicep/modules/event-subscription.bicep's `alwaysEventTypes`: what the backup subscription always includes. */
export const BACKUP_EVENT_TYPES = [
  BLOB_CREATED,
  BLOB_TIER_CHANGED,
  'Microsoft.Storage.BlobRenamed',
  'Microsoft.Storage.DirectoryRenamed',
] as const;

/** infra/bicep's `deleteEventTypes`: included when the stack's DELETE_POLICY is delete-marker (`includeBlobDeleted`). */
export const DELETE_EVENT_TYPES = [BLOB_DELETED, 'Microsoft.Storage.DirectoryDeleted'] as const;

/** infra/bicep's `incompleteBlobApis`: operations announcing a blob still being written, excluded by `data.api`. */
export const INCOMPLETE_BLOB_APIS = ['CreateFile', 'SftpCreate'] as const;

export const LOCAL_SUBSCRIPTION_KINDS = ['backup', 'inventory'] as const;
export type LocalSubscriptionKind = (typeof LOCAL_SUBSCRIPTION_KINDS)[number];

export interface LocalSubscription {
  /** Names its folder in the dead-letter container (upper-cased). */
  name: string;
  /** Its queue in the account of the backup queue (endpointType StorageQueue). */
  queueName: string;
  filter: SubscriptionFilter;
}

export const LOCAL_SUBSCRIPTIONS: Record<LocalSubscriptionKind, LocalSubscription> = {
  backup: {
    name: EVENT_SUBSCRIPTION_NAME,
    queueName: BACKUP_QUEUE_NAME,
    filter: {
      // The deletes are always included: the local cloud does not know the Function's DELETE_POLICY (one stack
      // serves both policies), so it delivers them as a delete-marker deployment does, and under `retain` the
      // Function logs them as `delete-retained` and leaves S3 alone.
      includedEventTypes: [...BACKUP_EVENT_TYPES, ...DELETE_EVENT_TYPES],
      excludedApis: INCOMPLETE_BLOB_APIS,
    },
  },
  inventory: {
    name: INVENTORY_SUBSCRIPTION_NAME,
    queueName: INVENTORY_QUEUE_NAME,
    filter: { includedEventTypes: [BLOB_INVENTORY_POLICY_COMPLETED], excludedApis: [] },
  },
};
