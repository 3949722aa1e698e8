import { randomUUID } from 'node:crypto';
import type { SourceBlob } from '../listing/source-listing.js';

/**
 * The queue message that asks the backup Function to copy one blob: a Microsoft.Storage.BlobCreated event
 * in the Event Grid schema, the shape the Function already handles for live events, so its validation and
 * ordering rules apply unchanged. It carries the blob's ETag and Last-Modified as listed; `data.api` is
 * `BlobferryBackfill` and `data.backfill` is true, so logs tell it from a live event. It has no sequencer
 * (only Azure assigns those): the copy reads the blob's current version and orders by Last-Modified, so a
 * live event and a backfill message for one blob end with the newest version in either order.
 */
export function backfillEvent(o: { blob: SourceBlob; blobUrl: string; container: string }): Record<string, unknown> {
  const url = new URL(o.blobUrl);
  url.search = '';
  return {
    id: randomUUID(),
    subject: `/blobServices/default/containers/${o.container}/blobs/${o.blob.name}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    data: {
      api: 'BlobferryBackfill',
      backfill: true,
      eTag: o.blob.etag.replace(/^"|"$/g, ''),
      lastModified: o.blob.lastModified.toISOString(),
      contentLength: o.blob.size,
      url: url.toString(),
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}
