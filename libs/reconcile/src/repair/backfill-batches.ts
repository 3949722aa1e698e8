import type { QueueClient } from '@azure/storage-queue';
import {
  backfillBatch,
  BATCH_MAX_BYTES,
  BATCH_MAX_ENTRIES,
  QUEUE_MESSAGE_MAX_BYTES,
  queueMessageBytes,
  type BackfillMessage,
} from '@blobferry/contract';
import { BatchPacker, type BatchLimits } from './batch-packer.js';

/** The caps of libs/contract (its comment says why these). */
export const BACKFILL_BATCH_LIMITS: BatchLimits = {
  maxEntries: BATCH_MAX_ENTRIES,
  maxBytes: BATCH_MAX_BYTES,
  maxMessageBytes: QUEUE_MESSAGE_MAX_BYTES,
};

/**
 * How long an open batch waits for more entries before it goes as it is: the tail of a run, and the sparse
 * finds of a sweep slice, are sent within this.
 */
const DEFAULT_LINGER_MS = 50;

export interface BackfillBatchesOptions {
  queue: QueueClient;
  limits?: BatchLimits;
  lingerMs?: number;
}

export interface BackfillBatches {
  /** Resolves once the message that holds the entry is in the queue; rejects when sending it failed. */
  send(entry: BackfillMessage, abortSignal?: AbortSignal): Promise<void>;
  /** The most entries one message holds: a caller keeps at least this many sends open, or batches go out short. */
  readonly maxEntries: number;
}

interface Waiting {
  entry: BackfillMessage;
  abortSignal: AbortSignal | undefined;
  sent: () => void;
  failed: (error: unknown) => void;
}

/** Backfill messages, sent to the backup queue as batch messages (contract `backfillBatchSchema`). */
export function backfillBatches(o: BackfillBatchesOptions): BackfillBatches {
  const limits = o.limits ?? BACKFILL_BATCH_LIMITS;
  const lingerMs = o.lingerMs ?? DEFAULT_LINGER_MS;
  const packer = new BatchPacker<Waiting>(limits, queueMessageBytes(JSON.stringify(backfillBatch([]))));
  let linger: NodeJS.Timeout | undefined;

  async function sendBatch(batch: Waiting[]): Promise<void> {
    const signals = [...new Set(batch.flatMap((waiting) => (waiting.abortSignal ? [waiting.abortSignal] : [])))];
    try {
      // JSON text, as Event Grid writes events (host.json messageEncoding "none"); no expiry, as the subscription sets.
      await o.queue.sendMessage(JSON.stringify(backfillBatch(batch.map((waiting) => waiting.entry))), {
        messageTimeToLive: -1,
        ...(signals.length > 0 ? { abortSignal: AbortSignal.any(signals) } : {}),
      });
      for (const waiting of batch) waiting.sent();
    } catch (error) {
      for (const waiting of batch) waiting.failed(error);
    }
  }

  function sendOpenBatch(): void {
    linger = undefined;
    const batch = packer.drain();
    if (batch) void sendBatch(batch);
  }

  return {
    maxEntries: limits.maxEntries,
    send(entry, abortSignal) {
      return new Promise<void>((resolve, reject) => {
        const closed = packer.add(
          { entry, abortSignal, sent: resolve, failed: reject },
          { bytes: entry.data.contentLength, messageBytes: queueMessageBytes(JSON.stringify(entry)) },
        );
        for (const batch of closed) void sendBatch(batch);
        if (closed.length > 0) {
          clearTimeout(linger);
          linger = undefined;
        }
        if (packer.pending > 0) linger ??= setTimeout(sendOpenBatch, lingerMs);
      });
    },
  };
}
