import type { QueueClient } from '@azure/storage-queue';
import { backfillMessage } from '@blobferry/contract';
import { backfillBatches } from './backfill-batches.js';
import type { QueueJournal } from './queue-journal.js';
import type { Difference } from '../reconcile.js';

/**
 * Hands copies to the backup Function fleet: one queue message per batch of blobs (contract
 * `backfillBatchSchema`), each blob at most once per waiting message.
 */
export interface QueueRepair {
  /** Resolves once the message that holds the blob is in the queue (a batch goes when full, or after a short wait). */
  enqueue(difference: Difference, abortSignal?: AbortSignal): Promise<'enqueued' | 'already-queued' | 'deferred'>;
  /** The most blobs one message holds: reconcile keeps that many enqueues open at once, so batches fill. */
  readonly entriesPerMessage: number;
}

export interface QueueRepairOptions {
  queue: QueueClient;
  container: string;
  blobUrlOf: (name: string) => string;
  /**
   * What earlier runs enqueued, so an interrupted backfill run again sends nothing twice. Without one
   * (the sweep, whose slices may run again after a crash) a blob may be enqueued twice: its second copy
   * finds the backup up to date.
   */
  journal?: QueueJournal;
  /**
   * Differences to leave for now (`deferred`): the sweep leaves a block blob written within the normal event
   * lag, whose BlobCreated is on its way, and one whose copy is under way, so no copy runs twice.
   */
  defer?: (difference: Difference) => boolean | Promise<boolean>;
}

export function queueRepair(o: QueueRepairOptions): QueueRepair {
  const batches = backfillBatches({ queue: o.queue });
  return {
    entriesPerMessage: batches.maxEntries,
    async enqueue(difference, abortSignal) {
      const blob = difference.source;
      if (!blob) throw new Error(`unreachable: ${difference.key} has no source blob to enqueue`);
      if (await o.defer?.(difference)) return 'deferred';
      if (o.journal?.holds(difference.key, blob.etag)) return 'already-queued';
      await batches.send(backfillMessage({ blob, blobUrl: o.blobUrlOf(blob.name), container: o.container }), abortSignal);
      await o.journal?.record(difference.key, blob.etag);
      return 'enqueued';
    },
  };
}
