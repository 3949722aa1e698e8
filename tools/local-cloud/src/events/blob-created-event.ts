import { randomUUID } from 'node:crypto';
import { RESOURCE_GROUP, SUBSCRIPTION_ID } from '../constants.js';
import type { BlobCreatedEventData, EventGridEvent } from '../types.js';

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';

/** What the watcher knows about a created or overwritten blob. */
export interface BlobChange {
  container: string;
  blobName: string;
  etag: string;
  contentType: string;
  contentLength: number;
  blobType: BlobCreatedEventData['blobType'];
  hasCommittedBlocks: boolean;
}

/**
 * Sequencers are 32 hex characters and compare lexically in event order. Starting from the clock
 * (ms << 20) keeps them increasing across restarts of a persisted stack, too.
 */
export function createSequencer(): () => string {
  let last = 0n;
  return () => {
    const fromClock = BigInt(Date.now()) << 20n;
    last = fromClock > last ? fromClock : last + 1n;
    return last.toString(16).padStart(32, '0');
  };
}

/** Blob URL as a client builds it (`BlobClient.url`): each path segment percent-encoded. */
export function blobUrl(blobEndpoint: string, container: string, blobName: string): string {
  const path = blobName.split('/').map(encodeURIComponent).join('/');
  return `${blobEndpoint.replace(/\/+$/, '')}/${container}/${path}`;
}

/** The storage account's ARM id: Event Grid's `topic` for its events. */
export function storageAccountTopic(accountName: string): string {
  return `/subscriptions/${SUBSCRIPTION_ID}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/${accountName}`;
}

export function blobCreatedEvent(o: {
  accountName: string;
  blobEndpoint: string;
  change: BlobChange;
  sequencer: string;
}): EventGridEvent<BlobCreatedEventData> {
  const { change } = o;
  return {
    topic: storageAccountTopic(o.accountName),
    subject: `/blobServices/default/containers/${change.container}/blobs/${change.blobName}`,
    eventType: BLOB_CREATED,
    eventTime: new Date().toISOString(),
    id: randomUUID(),
    data: {
      api: change.hasCommittedBlocks ? 'PutBlockList' : 'PutBlob',
      clientRequestId: randomUUID(),
      requestId: randomUUID(),
      eTag: change.etag.replace(/^"|"$/g, ''),
      contentType: change.contentType,
      contentLength: change.contentLength,
      blobType: change.blobType,
      accessTier: 'Default',
      url: blobUrl(o.blobEndpoint, change.container, change.blobName),
      sequencer: o.sequencer,
      storageDiagnostics: { batchId: randomUUID() },
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}
