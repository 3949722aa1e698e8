export { startLocalCloud, writeStackFile } from './local-cloud.js';
export { backupFunctionSettings } from './function-settings.js';
export type { EventDeliveryFailure, EventOptions, Faults, LocalCloud, LocalCloudOptions, Log } from './local-cloud.js';
export type { OutageMode, OutageOptions, OutageState } from './outage.js';
export type {
  BlobCreatedEventData,
  BlobInventoryPolicyCompletedEventData,
  BlobTierChangedEventData,
  DeadLetteredEvent,
  EventGridEvent,
  ManagedIdentityInfo,
  Stack,
} from './types.js';
export type { FaultRule, FaultService } from './fault-proxy.js';
export {
  AWS_ACCOUNT_ID,
  AWS_REGION,
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  BACKUP_BUCKET,
  BACKUP_PREFIX,
  DEFAULT_PORTS,
  MOTO_VERSION,
  RESOURCE_GROUP,
  SOURCE_CONTAINER,
  SUBSCRIPTION_ID,
} from './constants.js';
export {
  BACKUP_IDENTITY,
  DEFAULT_AUDIENCE,
  INTRUDER_IDENTITY,
  LOCAL_TENANT_ID,
  SYSTEM_IDENTITY,
  type IdentityName,
  type MintTokenOptions,
} from './identity/index.js';
export { BLOB_CREATED, BLOB_TIER_CHANGED, blobUrl } from './events/blob-created-event.js';
export { BLOB_INVENTORY_POLICY_COMPLETED } from './events/inventory-completed-event.js';
export { BACKUP_EVENT_TYPES, DELETE_EVENT_TYPES, INCOMPLETE_BLOB_APIS, LOCAL_SUBSCRIPTIONS } from './events/local-subscriptions.js';
export { MANAGED_IDENTITY_VARIABLES, useLocalManagedIdentity, type ManagedIdentityStyle } from './managed-identity-env.js';
export {
  writeInventoryReports,
  type WriteInventoryReportsOptions,
  type WrittenInventoryReports,
} from './inventory/write-inventory-reports.js';
export {
  publishAzureReport,
  publishS3Report,
  type PublishAzureReportOptions,
  type PublishS3ReportOptions,
} from './inventory/publish-reports.js';
export {
  AZURE_REPORT_FIELDS,
  S3_PARQUET_SCHEMA,
  S3_REPORT_FIELDS,
  writeAzureReportFile,
  writeS3ReportFile,
  type ReportFileFormat,
} from './inventory/report-files.js';
