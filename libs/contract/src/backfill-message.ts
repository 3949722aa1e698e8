import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** `data.api` of a message blobferry wrote itself (backfill, sweep, verify --repair --via-queue), never of a live event. */
export const BACKFILL_API = 'BlobferryBackfill';

/**
 * The queue message that asks the backup Function to copy one blob: a `Microsoft.Storage.BlobCreated`
 * event in the Event Grid schema, the shape the Function already handles for live events, so its
 * validation and ordering rules apply unchanged. It carries the blob's ETag and Last-Modified as listed;
 * `data.api` is `BlobferryBackfill` and `data.backfill` is true, so logs tell it from a live event. It has
 * no sequencer (only Azure assigns those): the copy reads the blob's current version and orders by
 * Last-Modified, so a live event and a backfill message for one blob end with the newest version in
 * either order.
 */
export const backfillMessageSchema = z.object({
  id: z.string().min(1),
  subject: z.string().regex(/^\/blobServices\/default\/containers\/[^/]+\/blobs\/.+$/s),
  eventType: z.literal('Microsoft.Storage.BlobCreated'),
  eventTime: z.iso.datetime(),
  data: z.object({
    api: z.literal(BACKFILL_API),
    backfill: z.literal(true),
    eTag: z.string().min(1),
    lastModified: z.iso.datetime(),
    contentLength: z.number().int().min(0),
    url: z.url(),
  }),
  dataVersion: z.string(),
  metadataVersion: z.string(),
});

export type BackfillMessage = z.infer<typeof backfillMessageSchema>;

export interface BackfillMessageOptions {
  container: string;
  /** The blob's URL; any query (a SAS) is dropped. */
  blobUrl: string;
  blob: { name: string; etag: string; lastModified: Date; size: number };
}

export function backfillMessage(options: BackfillMessageOptions): BackfillMessage {
  const url = new URL(options.blobUrl);
  url.search = '';
  const { blob } = options;
  return {
    id: randomUUID(),
    subject: `/blobServices/default/containers/${options.container}/blobs/${blob.name}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    data: {
      api: BACKFILL_API,
      backfill: true,
      eTag: blob.etag.replace(/^"|"$/g, ''),
      lastModified: blob.lastModified.toISOString(),
      contentLength: blob.size,
      url: url.toString(),
    },
    dataVersion: '',
    metadataVersion: '1',
  };
}
