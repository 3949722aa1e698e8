import { tmpdir } from 'node:os';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { SweepSliceMessage } from '@blobferry/contract';
import {
  InventoryReportError,
  openInventoryListing,
  removeLeftoverWorkFolders,
  type AzureReportLocation,
  type InventorySummary,
  type OpenedInventoryListing,
  type S3ReportLocation,
} from '@blobferry/inventory';
import {
  queueRepair,
  reconcile,
  sourcePageListing,
  type Difference,
  type ListingSource,
  type ReconcileOptions,
  type SliceCheckpoint,
} from '@blobferry/reconcile';
import type { KeyMapping, S3EndpointFeatures } from '@blobferry/transfer';
import { openInSyncRecord, type InSyncRecordFindings } from './in-sync-record.js';
import { countsOf, reportOf, type RefusedReport, type SliceResult, type SweepReport } from './sweep-report.js';
import { claimSlice, completedRun, createReport, markContainerDone, recordInventoryRun } from './sweep-state.js';

/** Where an inventory slice finds the reports, and how old they may be. */
export interface SweepInventoryOptions {
  /** The rule's destination container in the message's account, and the S3 Inventory of the backup bucket. */
  reports: { azure: AzureReportLocation; s3: S3ReportLocation };
  maxReportAgeMs: number;
  /** Where the reports are downloaded and DuckDB spills (default: the system's temp folder); removed after the slice. */
  workDirectory?: string;
  /**
   * The work directory is this process's alone (an instance's own temporary storage, one inventory slice at a
   * time): the folders a slice that died mid-way left there are removed first, so they do not fill it.
   */
  exclusiveWorkDirectory?: boolean;
}

/** A time during which blobs may have been written whose copies still wait for their retry. */
export interface OutageWindow {
  from: Date;
  to: Date;
}

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
  /**
   * Times a dependency of the copy was failing (to its end plus the longest retry delay): a block blob written
   * then was announced, and its copy may still wait for its retry, so repairing it is an expected find, not a
   * missed event.
   */
  outageWindows?: readonly OutageWindow[];
  /** Blobs per slice (one Azure listing page: at most 5,000). */
  maxBlobs?: number;
  /**
   * How long a listing slice trusts its record of the pairs it last found in sync (in-sync-record.ts) before
   * HEADing a pair again (default 7 days): what changes on an object without a new ETag or time, its tags set
   * directly on S3, is found within this time.
   */
  inSyncRecordMaxAgeMs?: number;
  /** The reports, for a message that sweeps from the inventory (`message.inventory`). */
  inventory?: SweepInventoryOptions;
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
function isMissedEvent(difference: Difference, cutoff: number, outages: readonly OutageWindow[]): boolean {
  const source = difference.source;
  if (!source || !ANNOUNCED_KINDS.has(difference.kind)) return false;
  if (source.blobType !== undefined && source.blobType !== 'BlockBlob') return false;
  return source.lastModified.getTime() < cutoff && !writtenDuring(difference, outages);
}

/** Whether the blob was last written during one of these outages. */
function writtenDuring(difference: Difference, outages: readonly OutageWindow[]): boolean {
  const written = difference.source?.lastModified.getTime();
  // Last-Modified has whole seconds: a blob written in the outage's first second reads as before its start.
  const fromSecond = (outage: OutageWindow) => Math.floor(outage.from.getTime() / 1000) * 1000;
  return written !== undefined && outages.some((outage) => written >= fromSecond(outage) && written <= outage.to.getTime());
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

/** What reconcile found in a slice, and what the sweep made of it. */
interface SliceFindings {
  /** Reconcile's counts per kind (countsOf). */
  counts: Record<string, number>;
  enqueued: number;
  missedEvents: number;
  expectedFinds: number;
  deferred: number;
}

const DEFAULT_IN_SYNC_RECORD_MAX_AGE_MS = 7 * 24 * 3_600_000;

/**
 * Reconciles one slice's pairs, whichever listing they come from, and sends every blob S3 lacks or holds stale
 * to the backup queue, leaving for now what awaits its event or is being copied.
 */
async function reconcileSlice(
  options: SweepSliceOptions,
  listing: ListingSource,
  properties: boolean,
  record: Pick<ReconcileOptions, 'provedInSyncBefore' | 'onInSync'> = {},
): Promise<SliceFindings> {
  const { message, container, target, keys, abortSignal } = options;
  const cutoff = Date.parse(message.runStartedAt) - options.eventLagMs;
  const outages = options.outageWindows ?? [];
  const findings = { missedEvents: 0, expectedFinds: 0, deferred: 0 };
  const summary = await reconcile({
    source: { container },
    target,
    keys,
    listing,
    properties,
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
      if (difference.repair.status === 'skipped') findings.deferred += 1;
      else if (isMissedEvent(difference, cutoff, outages)) findings.missedEvents += 1;
      else if (isExpectedFind(difference) || writtenDuring(difference, outages)) findings.expectedFinds += 1;
    },
    ...record,
    ...(abortSignal ? { abortSignal } : {}),
  });
  return { counts: countsOf(summary), enqueued: summary.enqueued, ...findings };
}

/**
 * One page of the container, listed with its metadata and tags; and where the next slice starts. Pairs the
 * slice's record proves in sync since its last run, listed as they were then, are not HEADed; the record is
 * then replaced with what this run found in sync.
 */
async function listedSlice(
  options: SweepSliceOptions,
  source: string,
): Promise<{ findings: SliceFindings; next: SliceCheckpoint | undefined; record: InSyncRecordFindings }> {
  const { message, container, target, keys, state, abortSignal } = options;
  const record = await openInSyncRecord({
    state,
    source,
    slice: message.slice,
    maxAgeMs: options.inSyncRecordMaxAgeMs ?? DEFAULT_IN_SYNC_RECORD_MAX_AGE_MS,
    // An object written within the event lag (which covers the clocks' skew) is HEADed again next time.
    settledBeforeMs: Date.parse(message.runStartedAt) - options.eventLagMs,
    abortSignal,
  });
  const listing = sourcePageListing({
    container,
    target,
    keys,
    ...(message.from ? { from: message.from } : {}),
    ...(options.maxBlobs ? { maxBlobs: options.maxBlobs } : {}),
    // Metadata and tag changes raise no event and leave a listing's sizes and MD5s alone: the sweep compares them.
    properties: true,
  });
  const findings = await reconcileSlice(options, listing, true, record.reconcile);
  return { findings, next: listing.next(), record: await record.save() };
}

/**
 * The whole container from the inventory reports, in one slice: the reports settle what they prove in sync in
 * DuckDB, reconcile classifies the rest (HEADs where the reports cannot decide; names a report is older than
 * read live on both sides first). Reports that cannot be trusted are refused, and nothing is repaired from them.
 * Tag-only changes (no new ETag or Last-Modified, no event) are in neither report: only a listing sees them.
 */
async function inventorySlice(
  options: SweepSliceOptions,
  pin: NonNullable<SweepSliceMessage['inventory']>,
): Promise<{ findings: SliceFindings; inventory: InventorySummary } | { refused: RefusedReport }> {
  const { container, target, keys, abortSignal } = options;
  const inventory = options.inventory;
  if (!inventory) throw new Error("an inventory slice needs the inventory reports' locations (SweepSliceOptions.inventory)");
  if (inventory.exclusiveWorkDirectory) await removeLeftoverWorkFolders(inventory.workDirectory ?? tmpdir());
  let opened: OpenedInventoryListing;
  try {
    opened = await openInventoryListing({
      reports: {
        azure: { ...inventory.reports.azure, ...(pin.azureManifest ? { manifest: pin.azureManifest } : {}) },
        s3: inventory.reports.s3,
      },
      container,
      target,
      keys,
      maxReportAgeMs: inventory.maxReportAgeMs,
      copyLagMs: options.eventLagMs,
      ...(inventory.workDirectory ? { workDirectory: inventory.workDirectory } : {}),
      ...(abortSignal ? { abortSignal } : {}),
    });
  } catch (error) {
    if (!(error instanceof InventoryReportError)) throw error;
    return { refused: { file: error.file, problem: error.problem, fix: error.fix } };
  }
  try {
    const findings = await reconcileSlice(options, opened.listing, false);
    return { findings, inventory: opened.summary() };
  } finally {
    await opened.close();
  }
}

/** A slice whose reports were refused: nothing classified, nothing enqueued. */
const NOTHING_FOUND: SliceFindings = {
  counts: {},
  enqueued: 0,
  missedEvents: 0,
  expectedFinds: 0,
  deferred: 0,
};

async function sweepClaimedSlice(
  options: SweepSliceOptions,
  source: string,
  complete: (result: object) => Promise<void>,
  started: number,
): Promise<SweepSliceOutcome> {
  const { message, state, abortSignal } = options;
  let swept: {
    findings: SliceFindings;
    next?: SliceCheckpoint | undefined;
    record?: InSyncRecordFindings;
    inventory?: InventorySummary;
    refused?: RefusedReport;
  };
  if (message.inventory) {
    const read = await inventorySlice(options, message.inventory);
    swept = 'refused' in read ? { findings: NOTHING_FOUND, refused: read.refused } : read;
  } else swept = await listedSlice(options, source);
  const { counts, enqueued, missedEvents, expectedFinds, deferred } = swept.findings;
  const result: SliceResult = {
    source,
    slice: message.slice,
    blobs: Object.values(counts).reduce((total, count) => total + count, 0) - (counts['extra'] ?? 0),
    counts,
    enqueued,
    missedEvents,
    expectedFinds,
    deferred,
    durationMs: Math.round(performance.now() - started),
    ...swept.record,
    ...(swept.inventory ? { inventory: swept.inventory } : {}),
    ...(swept.refused ? { refused: swept.refused } : {}),
  };

  const checkpoint = swept.next;
  const next: SweepSliceMessage | undefined = checkpoint ? { ...message, slice: message.slice + 1, from: checkpoint } : undefined;
  if (next) await options.sweepQueue.sendMessage(JSON.stringify(next), { messageTimeToLive: -1, abortSignal });
  await complete(result);
  if (!next) await markContainerDone(state, message.runId, source, abortSignal);
  // Slices finish in any order: whichever finds the run complete after its own result writes the report, once.
  const run = await completedRun<SliceResult>(state, message.runId, abortSignal);
  const report = run ? reportOf(run.plan, run.slices, new Date()) : undefined;
  const first = report ? await createReport(state, message.runId, report, abortSignal) : false;
  if (first && report?.via === 'inventory' && report.refused?.length === 0) {
    // The timer leaves an account swept from its reports to the next report, until INVENTORY_MAX_AGE passes.
    await recordInventoryRun(state, message.account, { runId: message.runId, finishedAt: report.finishedAt }, abortSignal);
  }
  return { status: 'swept', result, next, report: first ? report : undefined };
}
