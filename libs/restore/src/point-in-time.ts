import { compareSequencers } from '@blobferry/transfer';
import type { RecordedVersion } from './recorded-version.js';
import type { HistoryEntry, KeyHistory } from './version-listing.js';

/** What a key was at the restore point. */
export type PointInTimeState =
  | { state: 'present'; version: RecordedVersion }
  /** Its newest entry at the point is a delete marker; `before` is the version the marker hid (for --include-deleted). */
  | { state: 'deleted'; deletedAt: Date; before: RecordedVersion | undefined }
  /** No version of it existed yet at the point. */
  | { state: 'absent' };

export interface PointInTimeOptions {
  /** The restore point, in the source's clock; undefined: the current state. */
  asOf: Date | undefined;
  /** The recorded version an entry stands for (one HEAD, cached by the caller). */
  recordOf: (entry: HistoryEntry) => Promise<RecordedVersion>;
}

/** A version's time in the source's clock: the recorded Last-Modified of the blob, else (not recorded) when S3 got it. */
export const sourceTimeOf = (version: RecordedVersion): Date => version.sourceLastModified ?? version.s3LastModified;

/** Newer in the source: later source time, then the later Event Grid sequencer, then the later backup. */
function isNewer(a: RecordedVersion, b: RecordedVersion): boolean {
  const byTime = sourceTimeOf(a).getTime() - sourceTimeOf(b).getTime();
  if (byTime !== 0) return byTime > 0;
  if (a.sequencer !== undefined && b.sequencer !== undefined && a.sequencer !== b.sequencer)
    return compareSequencers(a.sequencer, b.sequencer) > 0;
  return a.s3LastModified.getTime() > b.s3LastModified.getTime();
}

/**
 * The key's state at `asOf`, in the source's clock. A version counts from the blob's recorded Last-Modified,
 * not from when S3 got it, so a blob backfilled or replayed long after it was written belongs to the time it was
 * written. A delete marker counts from its own time (S3's: the delete policy places it when the delete event is
 * handled). Only versions S3 got after `asOf` need their record read to place them; the newest version S3 got
 * before it was necessarily written before it too.
 */
export async function stateAt(history: KeyHistory, options: PointInTimeOptions): Promise<PointInTimeState> {
  const { asOf } = options;
  const versions = history.entries.filter((entry) => entry.kind === 'version');
  if (asOf === undefined) {
    const [latest] = history.entries;
    if (latest === undefined) return { state: 'absent' };
    if (latest.kind === 'version') return { state: 'present', version: await options.recordOf(latest) };
    const [before] = versions;
    return { state: 'deleted', deletedAt: latest.s3LastModified, before: before && (await options.recordOf(before)) };
  }

  let chosen: RecordedVersion | undefined;
  for (const entry of versions) {
    const record = await options.recordOf(entry);
    const candidate = sourceTimeOf(record).getTime() <= asOf.getTime();
    if (candidate && (chosen === undefined || isNewer(record, chosen))) chosen = record;
    // Every older version was backed up, and so written, before this one: none is newer in the source.
    if (entry.s3LastModified.getTime() <= asOf.getTime()) break;
  }
  const marker = history.entries.find((entry) => entry.kind === 'deleteMarker' && entry.s3LastModified.getTime() <= asOf.getTime());
  if (marker && (chosen === undefined || sourceTimeOf(chosen).getTime() <= marker.s3LastModified.getTime())) {
    return { state: 'deleted', deletedAt: marker.s3LastModified, before: chosen };
  }
  return chosen ? { state: 'present', version: chosen } : { state: 'absent' };
}
