import type { InventorySummary } from '@blobferry/inventory';
import type { ReconcileSummary } from '@blobferry/reconcile';

/** Inventory reports that could not be trusted: which file, what is wrong, what to do. Nothing was repaired from them. */
export interface RefusedReport {
  file: string;
  problem: string;
  fix: string;
}

/** What one slice found and did: the reconcile counts per difference kind, and what the sweep made of them. */
export interface SliceResult {
  source: string;
  slice: number;
  blobs: number;
  counts: Record<string, number>;
  enqueued: number;
  /** Blobs an event should have announced (block blobs created or overwritten) that were older than the run's start minus the event lag. */
  missedEvents: number;
  /** Expected finds: writes that raise no event (appends, page writes) and property-only changes. */
  expectedFinds: number;
  /** Left for now, checked again by the next run: block blobs written within the event lag (their events are on the way) and copies under way. */
  deferred: number;
  durationMs: number;
  /** Listing slices: pairs counted in sync without a HEAD, because the slice's record of its last run proved them so. */
  headsSkippedByRecord?: number;
  /** Listing slices: why the record of the last run could not be used (every pair was HEADed). */
  inSyncRecordProblem?: string;
  /** Swept from the inventory reports: which reports, what they decided, what was checked live. */
  inventory?: InventorySummary;
  /** The reports were refused: the slice classified and repaired nothing. */
  refused?: RefusedReport;
}

export interface SweepReport {
  runId: string;
  runStartedAt: string;
  via: 'listing' | 'inventory';
  finishedAt: string;
  durationMs: number;
  containers: number;
  slices: number;
  blobs: number;
  /** Per difference kind (and inSync), over every slice. */
  counts: Record<string, number>;
  enqueued: number;
  missedEvents: number;
  expectedFinds: number;
  deferred: number;
  /** Pairs counted in sync without a HEAD because their slice's record proved them so (listing runs). */
  headsSkippedByRecord: number;
  /** Inventory runs: the live checks the reports needed (HEADs; names read live because a report is older than them). */
  liveChecks?: { needsHead: number; reportOlderThanLive: number };
  /** Inventory runs: each container whose reports were refused (it was not swept). */
  refused?: Array<RefusedReport & { source: string }>;
}

/** The counts of a reconcile summary by kind: inSync and every difference kind, without the totals. */
export function countsOf(summary: ReconcileSummary): Record<string, number> {
  const {
    repaired: _repaired,
    enqueued: _enqueued,
    alreadyQueued: _alreadyQueued,
    remaining: _remaining,
    deepChecks: _deepChecks,
    durationMs: _durationMs,
    ...counts
  } = summary;
  return counts;
}

export function reportOf(
  plan: { runId: string; runStartedAt: string; via?: 'listing' | 'inventory'; containers: string[] },
  slices: SliceResult[],
  finishedAt: Date,
): SweepReport {
  const counts: Record<string, number> = {};
  for (const slice of slices) for (const [kind, count] of Object.entries(slice.counts)) counts[kind] = (counts[kind] ?? 0) + count;
  const sum = (field: 'blobs' | 'enqueued' | 'missedEvents' | 'expectedFinds' | 'deferred') =>
    slices.reduce((total, slice) => total + slice[field], 0);
  const via = plan.via ?? 'listing';
  const inventory =
    via === 'inventory'
      ? {
          liveChecks: {
            needsHead: slices.reduce((total, slice) => total + (slice.inventory?.needsHead ?? 0), 0),
            reportOlderThanLive: slices.reduce((total, slice) => total + (slice.inventory?.reportOlderThanLive ?? 0), 0),
          },
          refused: slices.flatMap((slice) => (slice.refused ? [{ source: slice.source, ...slice.refused }] : [])),
        }
      : {};
  return {
    runId: plan.runId,
    runStartedAt: plan.runStartedAt,
    via,
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - Date.parse(plan.runStartedAt),
    containers: plan.containers.length,
    slices: slices.length,
    blobs: sum('blobs'),
    counts,
    enqueued: sum('enqueued'),
    missedEvents: sum('missedEvents'),
    expectedFinds: sum('expectedFinds'),
    deferred: sum('deferred'),
    headsSkippedByRecord: slices.reduce((total, slice) => total + (slice.headsSkippedByRecord ?? 0), 0),
    ...inventory,
  };
}
