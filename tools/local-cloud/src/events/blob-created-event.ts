import { randomUUID } from 'node:crypto';
import { RESOURCE_GROUP, SUBSCRIPTION_ID } from '../constants.js';
import type { BlobCreatedEventData, BlobDeletedEventData, BlobTierChangedEventData, EventGridEvent } from '../types.js';

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
export const BLOB_DELETED = 'Microsoft.Storage.BlobDeleted';
export const BLOB_TIER_CHANGED = 'Microsoft.Storage.BlobTierChanged';

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

interface EventBase {
  accountName: string;
  blobEndpoint: string;
  container: string;
  blobName: string;
  sequencer: string;
  clientRequestId: string;
  requestId: string;
}

function envelope<T>(o: EventBase, eventType: string, data: T): EventGridEvent<T> {
  return {
    topic: storageAccountTopic(o.accountName),
    subject: `/blobServices/default/containers/${o.container}/blobs/${o.blobName}`,
    eventType,
    eventTime: new Date().toISOString(),
    id: randomUUID(),
    data,
    dataVersion: '',
    metadataVersion: '1',
  };
}

export function blobCreatedEvent(
  o: EventBase & Pick<BlobCreatedEventData, 'api' | 'eTag' | 'contentType' | 'contentLength' | 'blobType'>,
): EventGridEvent<BlobCreatedEventData> {
  return envelope(o, BLOB_CREATED, {
    api: o.api,
    clientRequestId: o.clientRequestId,
    requestId: o.requestId,
    eTag: o.eTag.replace(/^"|"$/g, ''),
    contentType: o.contentType,
    contentLength: o.contentLength,
    blobType: o.blobType,
    accessTier: 'Default',
    url: blobUrl(o.blobEndpoint, o.container, o.blobName),
    sequencer: o.sequencer,
    storageDiagnostics: { batchId: randomUUID() },
  });
}

export function blobDeletedEvent(
  o: EventBase & Pick<BlobDeletedEventData, 'contentType' | 'blobType'>,
): EventGridEvent<BlobDeletedEventData> {
  return envelope(o, BLOB_DELETED, {
    api: 'DeleteBlob',
    clientRequestId: o.clientRequestId,
    requestId: o.requestId,
    contentType: o.contentType,
    blobType: o.blobType,
    url: blobUrl(o.blobEndpoint, o.container, o.blobName),
    sequencer: o.sequencer,
    storageDiagnostics: { batchId: randomUUID() },
  });
}

export function blobTierChangedEvent(
  o: EventBase & Pick<BlobTierChangedEventData, 'contentType' | 'contentLength' | 'blobType' | 'accessTier' | 'previousTier'>,
): EventGridEvent<BlobTierChangedEventData> {
  return envelope(o, BLOB_TIER_CHANGED, {
    api: 'SetBlobTier',
    clientRequestId: o.clientRequestId,
    requestId: o.requestId,
    contentType: o.contentType,
    contentLength: o.contentLength,
    blobType: o.blobType,
    accessTier: o.accessTier,
    ...(o.previousTier === undefined ? {} : { previousTier: o.previousTier }),
    url: blobUrl(o.blobEndpoint, o.container, o.blobName),
    sequencer: o.sequencer,
    storageDiagnostics: { batchId: randomUUID() },
  });
}
