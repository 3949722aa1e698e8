// The events the local Event Grid raises, as they travel on the wire. The stack file's shape (`Stack`) is
// part of the cross-project contract (libs/contract).
export type { ManagedIdentityInfo, Stack } from '@blobferry/contract';

/** An event in the Event Grid schema, as it travels on the wire (`eventTime` is an ISO string). */
export interface EventGridEvent<TData = unknown> {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: TData;
  dataVersion: string;
  metadataVersion: string;
}

/** `data` of `Microsoft.Storage.BlobCreated`, field for field as Azure Storage sends it. */
export interface BlobCreatedEventData {
  api: 'PutBlob' | 'PutBlockList' | 'CopyBlob';
  clientRequestId: string;
  requestId: string;
  eTag: string;
  contentType: string;
  contentLength: number;
  blobType: 'BlockBlob' | 'AppendBlob' | 'PageBlob';
  accessTier: string;
  url: string;
  sequencer: string;
  storageDiagnostics: { batchId: string };
}

/** `data` of `Microsoft.Storage.BlobDeleted`. */
export interface BlobDeletedEventData {
  api: 'DeleteBlob';
  clientRequestId: string;
  requestId: string;
  contentType: string;
  blobType: BlobCreatedEventData['blobType'];
  url: string;
  sequencer: string;
  storageDiagnostics: { batchId: string };
}

/**
 * `data` of `Microsoft.Storage.BlobTierChanged` (Set Blob Tier). `previousTier` is absent when the blob's tier
 * was inferred from the account's default rather than set.
 */
export interface BlobTierChangedEventData {
  api: 'SetBlobTier';
  clientRequestId: string;
  requestId: string;
  contentType: string;
  contentLength: number;
  blobType: BlobCreatedEventData['blobType'];
  accessTier: string;
  previousTier?: string;
  url: string;
  sequencer: string;
  storageDiagnostics: { batchId: string };
}

/**
 * `data` of `Microsoft.Storage.BlobInventoryPolicyCompleted` (subject `BlobDataManagement/BlobInventory`,
 * dataVersion `1.0`), raised when a run's manifest checksum is written.
 */
export interface BlobInventoryPolicyCompletedEventData {
  scheduleDateTime: string;
  accountName: string;
  ruleName: string;
  policyRunStatus: 'Succeeded' | 'PartiallySucceeded' | 'Failed';
  policyRunStatusMessage: string;
  policyRunId: string;
  manifestBlobUrl: string;
}

/**
 * A dead-lettered event: the event plus Event Grid's dead-letter properties. `deadLetterReason` says which
 * limit ended its delivery: its attempts, its time to live, or an answer no retry can fix (400, 403, 413).
 */
export interface DeadLetteredEvent extends EventGridEvent {
  deadLetterReason: 'MaxDeliveryAttemptsExceeded' | 'TimeToLiveExceeded' | 'UndeliverableDueToClientError';
  deliveryAttempts: number;
  lastDeliveryOutcome: string;
  lastHttpStatusCode: number;
  publishTime: string;
  lastDeliveryAttemptTime: string;
}
