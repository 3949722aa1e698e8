import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { SweepSliceMessage } from '@blobferry/contract';
import { queueRepair, reconcile, sourcePageListing, type Difference } from '@blobferry/reconcile';
import type { KeyMapping, S3EndpointFeatures } from '@blobferry/transfer';
import { countsOf, reportOf, type SliceResult, type SweepReport } from './sweep-report.js';
import { claimSlice, completedRun, createReport, markContainerDone } from './sweep-state.js';

export interface SweepSliceOptions {
  message: SweepSliceMessage;
  /** The message's container, read with the Function's identity. */
  container: ContainerClient;
  target: { s3: S3Client; bucket: string; features?: S3EndpointFeatures };
  keys: KeyMapping;
  /** Where the differences go: the backup queue, as backfill messages the fleet copies. */
  backupQueue: QueueClient;
  /** Where the next slice goes. */
  sweepQueue: QueueClient;
  state: ContainerClient;
  /** How late an event may normally arrive (SWEEP_EVENT_LAG). */
  eventLagMs: number;
  /** Blobs per slice (one Azure listing page: at most 5,000). */
  maxBlobs?: number;
  abortSignal?: AbortSignal;
}

export interface SweepSliceOutcome {
  /**
   * `swept`; `busy`: another instance holds this slice (a message delivered twice), nothing done; `done`: the
   * slice was swept before (its message came back after a crash), nothing done.
   */
  status: 'swept' | 'busy' | 'done';
  result: SliceResult | undefined;
  /** The next slice of this container, now in the sweep queue; undefined after its last. */
  next: SweepSliceMessage | undefined;
  /** The run's report, when this slice finished the run (exactly one slice of a run returns it). */
  report: SweepReport | undefined;
}

/** Differences an event announces when it is not lost: a block blob created or overwritten. */
const ANNOUNCED_KINDS = new Set(['missing', 'sizeMismatch', 'checksumMismatch', 'stale']);

/**
 * Whether a difference means an event was lost: a block blob the events should have brought, last written
 * before the run's start minus the normal event lag. Appends, page writes and property-only changes raise no
 * event: they are expected finds, counted and not alerted on.
 */
function isMissedEvent(difference: Difference, cutoff: number): boolean {
  const source = difference.source;
  if (!source || !ANNOUNCED_KINDS.has(difference.kind)) return false;
  if (source.blobType !== undefined && source.blobType !== 'BlockBlob') return false;
  return source.lastModified.getTime() < cutoff;
}

/** A block blob written within the event lag: its BlobCreated is presumably on its way, so the sweep leaves it for now. */
function awaitsItsEvent(difference: Difference, cutoff: number): boolean {
  const source = difference.source;
  if (!source || !ANNOUNCED_KINDS.has(difference.kind)) return false;
  if (source.blobType !== undefined && source.blobType !== 'BlockBlob') return false;
  return source.lastModified.getTime() >= cutoff;
}

/** S3's smallest part: a blob up to it is copied in one PutObject, with no upload to find in flight. */
const MIN_MULTIPART_BYTES = 5 * 1024 * 1024;

/**
 * Whether a copy of the key is under way: an open multipart upload of it. A copy leaves one open only while
 * it runs or after it died (one that fails on a changed source aborts it), and either way its queue message
 * is still queued (invisible while the copy runs, back if it died, in the poison queue at worst, which the
 * sweep replays), so the copy completes without the sweep; enqueueing it again would run a second copy
 * beside the first. Uploads abandoned for good are aborted by the bucket's lifecycle rule.
 */
async function copyUnderWay(
  difference: Difference,
  target: SweepSliceOptions['target'],
  abortSignal: AbortSignal | undefined,
): Promise<boolean> {
  const source = difference.source;
  if (!source || source.size <= MIN_MULTIPART_BYTES || !ANNOUNCED_KINDS.has(difference.kind)) return false;
  const uploads = await target.s3.send(new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: difference.key }), { abortSignal });
  return (uploads.Uploads ?? []).some((upload) => upload.Key === difference.key);
}

function isExpectedFind(difference: Difference): boolean {
  const blobType = difference.source?.blobType;
  return (blobType !== undefined && blobType !== 'BlockBlob') || !ANNOUNCED_KINDS.has(difference.kind);
}

/**
 * Sweeps one slice, under a lease on it (claimSlice): one page of the container reconciled with its backup,
 * every blob S3 lacks or holds stale sent to the backup queue as a backfill message, the next slice sent to
 * the sweep queue (or, after the container's last, the container marked done and, when it was the run's
 * last, the report written), then the result recorded. A slice that dies midway is delivered again and
 * starts from the same checkpoint once its lease has run out; what it had already enqueued is enqueued
 * again, and those copies find the backup up to date.
 */
export async function sweepSlice(options: SweepSliceOptions): Promise<SweepSliceOutcome> {
  const started = performance.now();
  const { message, state, abortSignal } = options;
  const source = `${message.account}/${message.container}`;
  const claim = await claimSlice(state, message.runId, source, message.slice, abortSignal);
  if (claim.status !== 'claimed') return { status: claim.status, result: undefined, next: undefined, report: undefined };
  try {
    return await sweepClaimedSlice(options, source, claim.complete, started);
  } catch (error) {
    await claim.abandon();
    throw error;
  }
}

async function sweepClaimedSlice(
  options: SweepSliceOptions,
  source: string,
  complete: (result: object) => Promise<void>,
  started: number,
): Promise<SweepSliceOutcome> {
  const { message, container, target, keys, state, abortSignal } = options;
  const listing = sourcePageListing({
    container,
    target,
    keys,
    ...(message.from ? { from: message.from } : {}),
    ...(options.maxBlobs ? { maxBlobs: options.maxBlobs } : {}),
    // Metadata and tag changes raise no event and leave a listing's sizes and MD5s alone: the sweep compares them.
    properties: true,
  });
  const cutoff = Date.parse(message.runStartedAt) - options.eventLagMs;
  let missedEvents = 0;
  let expectedFinds = 0;
  let deferred = 0;
  const summary = await reconcile({
    source: { container },
    target,
    keys,
    listing,
    properties: true,
    repair: {
      viaQueue: queueRepair({
        queue: options.backupQueue,
        container: message.container,
        blobUrlOf: (name) => container.getBlobClient(name).url,
        defer: async (difference) => awaitsItsEvent(difference, cutoff) || (await copyUnderWay(difference, target, abortSignal)),
      }),
    },
    onDifference: (difference) => {
      if (difference.repair?.action !== 'enqueue') return;
      if (difference.repair.status === 'skipped') {
        deferred += 1;
        return;
      }
      if (isMissedEvent(difference, cutoff)) missedEvents += 1;
      else if (isExpectedFind(difference)) expectedFinds += 1;
    },
    ...(abortSignal ? { abortSignal } : {}),
  });
  const counts = countsOf(summary);
  const result: SliceResult = {
    source,
    slice: message.slice,
    blobs: Object.values(counts).reduce((total, count) => total + count, 0) - (counts['extra'] ?? 0),
    counts,
    enqueued: summary.enqueued,
    missedEvents,
    expectedFinds,
    deferred,
    durationMs: Math.round(performance.now() - started),
  };

  const checkpoint = listing.next();
  const next: SweepSliceMessage | undefined = checkpoint ? { ...message, slice: message.slice + 1, from: checkpoint } : undefined;
  if (next) await options.sweepQueue.sendMessage(JSON.stringify(next), { messageTimeToLive: -1, abortSignal });
  await complete(result);
  if (!next) await markContainerDone(state, message.runId, source, abortSignal);
  // Slices finish in any order: whichever finds the run complete after its own result writes the report, once.
  const run = await completedRun<SliceResult>(state, message.runId, abortSignal);
  const report = run ? reportOf(run.plan, run.slices, new Date()) : undefined;
  const first = report ? await createReport(state, message.runId, report, abortSignal) : false;
  return { status: 'swept', result, next, report: first ? report : undefined };
}
