import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { backfillMessageSchema, type BackfillMessage } from './backfill-message.js';

// Backfill, the sweep and `verify --repair --via-queue` send one queue message per batch of blobs: each blob
// costs a put, a get and a delete on the queue when it travels alone, and a Storage queue takes about 2,000
// messages/s, so 10^8 single messages are about 40 hours of queue work before any copying. A batch is capped:
// - by count (BATCH_MAX_ENTRIES): Flex Consumption scales out on the queue's length, so a backlog must stay
//   many messages long: 10^6 blobs are still 31,250 messages, enough to fan out to every instance, while
//   each message saves 31 of every 32 queue operations;
// - by bytes (BATCH_MAX_BYTES): one message is one instance's work, so a batch of large blobs holds what one
//   instance copies in a short while, and a blob over the cap (up to 5 TiB) is a batch of its own;
// - by its size in the queue (QUEUE_MESSAGE_MAX_BYTES, Put Message's limit on the encoded message).
// The entries are backfill messages exactly as a single message carries them, so the Function validates
// and orders each one as a backfill (never newer than a live event) and, when one fails, sends it on alone.

/** `kind` of a batch message: how the Function tells it from a single Event Grid event. */
export const BACKFILL_BATCH_KIND = 'BlobferryBackfillBatch';
export const BATCH_MAX_ENTRIES = 32;
export const BATCH_MAX_BYTES = 1024 ** 3;
/**
 * Put Message takes a message of up to 64 KiB "encoded": UTF-8, inside the XML body. host.json's
 * messageEncoding is "none" (the JSON text, as Event Grid writes it), so the count is of the JSON text
 * with XML's escapes (queueMessageBytes), never of base64.
 */
export const QUEUE_MESSAGE_MAX_BYTES = 64 * 1024;

export const backfillBatchSchema = z.object({
  kind: z.literal(BACKFILL_BATCH_KIND),
  id: z.string().min(1),
  entries: z.array(backfillMessageSchema).min(1).max(BATCH_MAX_ENTRIES),
});

export type BackfillBatch = z.infer<typeof backfillBatchSchema>;

export function backfillBatch(entries: BackfillMessage[]): BackfillBatch {
  return { kind: BACKFILL_BATCH_KIND, id: randomUUID(), entries };
}

/** Whether a queue message (parsed JSON) says it is a batch; backfillBatchSchema decides whether it is a valid one. */
export function isBackfillBatch(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { kind?: unknown }).kind === BACKFILL_BATCH_KIND;
}

const XML_ESCAPES: Record<string, number> = { '&': 5, '<': 4, '>': 4, '"': 6, "'": 6 };

/**
 * The bytes a message text takes in Put Message's XML body: UTF-8, every character XML may escape counted
 * as its escape (the SDK's serializer may escape quotes too; counting them errs on the safe side).
 */
export function queueMessageBytes(text: string): number {
  let escapes = 0;
  for (const character of text) {
    const escaped = XML_ESCAPES[character];
    if (escaped !== undefined) escapes += escaped - 1;
  }
  return Buffer.byteLength(text, 'utf8') + escapes;
}
