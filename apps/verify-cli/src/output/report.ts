import type { Difference, ReconcileSummary } from '@blobferry/reconcile';

export type OutputFormat = 'table' | 'json' | 'ndjson';

/** Where the run started from and went to, for the summary (never with a SAS or key in it). */
export interface RunTargets {
  source: string;
  target: string;
}

/** The `--json` / `--ndjson` shape of a difference: plain JSON, ISO dates, `null` for the absent side. */
export function differenceJson(difference: Difference) {
  const { source, target, recorded } = difference;
  return {
    key: difference.key,
    kind: difference.kind,
    source: source
      ? {
          name: source.name,
          size: source.size,
          etag: source.etag,
          md5: source.md5Base64 ?? null,
          lastModified: source.lastModified.toISOString(),
        }
      : null,
    target: target
      ? {
          key: target.key,
          size: target.size,
          etag: target.etag,
          lastModified: target.lastModified.toISOString(),
          ...(recorded?.etag !== undefined ? { recordedSourceEtag: recorded.etag } : {}),
          ...(recorded?.md5Base64 !== undefined ? { recordedSourceMd5: recorded.md5Base64 } : {}),
        }
      : null,
    ...(difference.properties ? { properties: difference.properties } : {}),
    ...(difference.error ? { error: difference.error } : {}),
    ...(difference.repair ? { repair: difference.repair } : {}),
  };
}

export function summaryJson(summary: ReconcileSummary, targets: RunTargets) {
  return {
    source: targets.source,
    target: targets.target,
    inSync: summary.inSync,
    missing: summary.missing,
    extra: summary.extra,
    sizeMismatch: summary.sizeMismatch,
    checksumMismatch: summary.checksumMismatch,
    stale: summary.stale,
    propertiesDiffer: summary.propertiesDiffer,
    unverifiable: summary.unverifiable,
    error: summary.error,
    repaired: summary.repaired,
    enqueued: summary.enqueued,
    alreadyQueued: summary.alreadyQueued,
    remaining: summary.remaining,
    // With --deep: how many pairs were checked against S3's stored checksum, and how many by reading both sides.
    ...(summary.deepChecks
      ? { deepChecks: { storedChecksum: summary.deepChecks.storedChecksum, bothSides: summary.deepChecks.bothSides } }
      : {}),
    durationMs: summary.durationMs,
  };
}
