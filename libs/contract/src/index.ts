// What blobferry's projects agree on, in one place: the Function's app settings, the backup queue and its
// messages (single events, backfill batches, their retry state), Event Grid's dead letters, the Function's
// shared state, where a blob's backup lives in the bucket and what it records there, and the local cloud's
// stack file. The Function, the CLI, tools/local-cloud, tools/functions-host and infra's drift tests import it.
export { BACKUP_METADATA } from './backup-metadata.js';
export {
  BACKFILL_API,
  backfillMessage,
  backfillMessageSchema,
  type BackfillMessage,
  type BackfillMessageOptions,
} from './backfill-message.js';
export {
  BACKFILL_BATCH_KIND,
  backfillBatch,
  backfillBatchSchema,
  BATCH_MAX_BYTES,
  BATCH_MAX_ENTRIES,
  isBackfillBatch,
  QUEUE_MESSAGE_MAX_BYTES,
  queueMessageBytes,
  type BackfillBatch,
} from './backfill-batch.js';
export {
  AZURE_INVENTORY_CONTAINER,
  AZURE_INVENTORY_RULE,
  S3_INVENTORY_DESTINATION_PREFIX,
  S3_INVENTORY_ID,
  s3InventoryBucketFor,
  s3InventoryPrefixFor,
} from './inventory-reports.js';
export { KEY_LAYOUTS, keyRootOf, MAX_S3_KEY_BYTES, type KeyLayout, type KeyRootOptions } from './key-layouts.js';
export {
  MAX_DEQUEUE_COUNT,
  DEFAULT_BACKUP_QUEUE_NAME,
  poisonQueueOf,
  QUEUE_CONNECTION,
  QUEUE_NAME_SETTING,
  queueConnectionOf,
  SWEEP_QUEUE_NAME,
  INVENTORY_QUEUE_NAME,
  type QueueConnection,
  type QueueConnectionResult,
} from './queues.js';
export {
  readRetryState,
  RETRY_STATE_FIELD,
  retryDelayMs,
  retryStateSchema,
  withoutRetryState,
  withRetryState,
  type RetryState,
  type RetryStateRead,
} from './retry-envelope.js';
export {
  DEAD_LETTER_FIELDS,
  deadLetterPrefixOf,
  eventGridEventSchema,
  eventOfDeadLetter,
  type DeadLetteredEventRead,
  type EventGridEvent,
} from './dead-letter.js';
export {
  DEPENDENCIES,
  failureRecordName,
  failureRecordSchema,
  FAILURES_PREFIX,
  outageRecordName,
  outageRecordSchema,
  endedOutageRecordName,
  endedOutageRecordSchema,
  ENDED_OUTAGES_PREFIX,
  type EndedOutageRecord,
  OUTAGES_PREFIX,
  type Dependency,
  type FailureRecord,
  type OutageRecord,
} from './shared-state.js';
export {
  ACCESS_TIERS,
  DELETE_POLICIES,
  STORAGE_CLASSES,
  type AccessTier,
  type StorageClass,
  isSourceAllowed,
  parseBackupSettings,
  S3_CHECKSUMS,
  SETTING_NAMES,
  type AllowedSource,
  type BackupSettings,
  type S3Checksum,
  type SettingName,
  type SettingsResult,
} from './settings.js';
export { stackSchema, type ManagedIdentityInfo, type OperatorUserInfo, type Stack } from './stack.js';
export { sweepSliceMessageSchema, type SweepSliceMessage } from './sweep-message.js';
