import type { ReconcileSummary } from '@blobferry/reconcile';

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
}

export interface SweepReport {
  runId: string;
  runStartedAt: string;
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
  plan: { runId: string; runStartedAt: string; containers: string[] },
  slices: SliceResult[],
  finishedAt: Date,
): SweepReport {
  const counts: Record<string, number> = {};
  for (const slice of slices) for (const [kind, count] of Object.entries(slice.counts)) counts[kind] = (counts[kind] ?? 0) + count;
  const sum = (field: 'blobs' | 'enqueued' | 'missedEvents' | 'expectedFinds' | 'deferred') =>
    slices.reduce((total, slice) => total + slice[field], 0);
  return {
    runId: plan.runId,
    runStartedAt: plan.runStartedAt,
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
  };
}
