import type { InvocationContext } from '@azure/functions';
import { backfillBatchSchema } from '@blobferry/contract';
import pLimit from 'p-limit';
import { type BackupDeps, handleBlobEvent } from './backup-blob.js';
import { errorSummary } from './redact.js';

/**
 * Blobs of batch messages copied at once on one instance, whatever the number of batch messages the runtime
 * hands it (host.json batchSize). Each copy keeps its own CONCURRENCY parts in flight, so the instance holds
 * at most this many times PART_SIZE x CONCURRENCY in buffers (512 MiB at the defaults, on a 2 GiB Flex
 * instance), twice the copies of a batchSize of single events, for small blobs whose copies wait on latency.
 */
export const BATCH_COPIES_PER_INSTANCE = 16;
const batchCopies = pLimit(BATCH_COPIES_PER_INSTANCE);

/** What happened to a batch message: the outcomes of its entries handled here (EventOutcome's vocabulary), and those sent on alone. */
export interface BatchOutcome {
  outcome: 'done' | 'refused';
  outcomes: Record<string, number>;
  /** Entries whose handling threw (unclassified, or their retry could not be queued), now single messages. */
  sentAlone: number;
}

/**
 * Handles a backfill batch message (contract `backfillBatchSchema`): each entry as the single backfill event it
 * is (handleBlobEvent: the same validation, ordering and failure model), at most BATCH_COPIES_PER_INSTANCE at
 * once. A blob that fails is handled alone: a transient failure puts that entry back into the queue with its
 * retry state and delay, a permanent one is recorded for that entry, and one the failure model cannot classify
 * is sent back alone as a single message, which then meets the runtime's retries and the poison queue by
 * itself. The batch returns (and the runtime deletes it) once every entry is copied or handed off; it throws
 * only when an entry could not be handed off (the queue refused), so the batch is tried again, and the entries
 * copied meanwhile find their backup up to date.
 */
export async function handleBackfillBatch(message: unknown, context: InvocationContext, deps: BackupDeps): Promise<BatchOutcome> {
  const started = performance.now();
  const parsed = backfillBatchSchema.safeParse(message);
  const dequeueCount = context.triggerMetadata?.dequeueCount;
  const base = { event: 'backupBatch', invocationId: context.invocationId, ...(typeof dequeueCount === 'number' ? { dequeueCount } : {}) };
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const reason = `the batch's ${(issue?.path ?? []).join('.') || 'message'} is malformed: ${issue?.message}`;
    context.warn(JSON.stringify({ ...base, outcome: 'refused', reason }));
    return { outcome: 'refused', outcomes: {}, sentAlone: 0 };
  }
  const batch = parsed.data;
  const outcomes: Record<string, number> = {};
  const notHandedOff: string[] = [];
  let sentAlone = 0;
  await Promise.all(
    batch.entries.map((entry) =>
      batchCopies(async () => {
        try {
          const { outcome } = await handleBlobEvent(entry, context, deps);
          outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        } catch (error) {
          // handleBlobEvent logged the entry's outcome (failed-unclassified, requeue-failed) before it threw.
          try {
            // JSON text, no expiry, as the Event Grid subscription writes an event.
            await deps.clients.backupQueue.sendMessage(JSON.stringify(entry), { messageTimeToLive: -1 });
            sentAlone += 1;
          } catch (queueError) {
            notHandedOff.push(`${entry.id}: ${errorSummary(error)}; sending it alone: ${errorSummary(queueError)}`);
          }
        }
      }),
    ),
  );
  const summary = { ...base, batchId: batch.id, entries: batch.entries.length, outcomes, sentAlone };
  const durationMs = Math.round(performance.now() - started);
  if (notHandedOff.length > 0) {
    context.error(JSON.stringify({ ...summary, outcome: 'requeue-failed', notHandedOff, durationMs }));
    throw new Error(`${notHandedOff.length} entries of batch ${batch.id} could not be handed off; the batch is tried again`);
  }
  context.info(JSON.stringify({ ...summary, outcome: 'done', durationMs }));
  return { outcome: 'done', outcomes, sentAlone };
}
