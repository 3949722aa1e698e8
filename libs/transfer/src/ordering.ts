import { BACKUP_METADATA } from '@blobferry/contract';
import { decodeHeaderValue, stripQuotes } from './metadata.js';

// Which version of a blob is newer: the one home of that question. Event Grid's sequencer orders the
// writes to one blob exactly; Last-Modified is the fallback when one side does not know a sequencer.
// Sequencers are normalised where they enter (normalizeSequencer: an event's data.sequencer, and what
// recordedSourceOf reads back from S3), so compareSequencers is a plain padded compare.

const HEX = /^[0-9a-f]+$/i;

/** An Event Grid sequencer as lower-case hex, or undefined when the value is not a hex string. */
export function normalizeSequencer(value: unknown): string | undefined {
  return typeof value === 'string' && HEX.test(value) ? value.toLowerCase() : undefined;
}

/**
 * Orders two normalised sequencers (see normalizeSequencer). They are hex strings of one width per
 * account; padding to one width makes lexical order numeric order should the widths ever differ.
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const left = a.padStart(width, '0');
  const right = b.padStart(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}

/** What a target object says about the source version it holds. */
export interface RecordedSource {
  etag: string | undefined;
  lastModified: Date | undefined;
  md5Base64: string | undefined;
  /** Normalised (normalizeSequencer); undefined when none was recorded or it is not hex. */
  sequencer: string | undefined;
  /** `BlockBlob`, `AppendBlob` or `PageBlob`, when recorded. */
  blobType: string | undefined;
  creationTime: Date | undefined;
  accessTier: string | undefined;
  /** What went to the properties sidecar (`metadata`, `tags`); empty when everything fit on the object. */
  inSidecar: string[];
  /**
   * The blob's metadata kept on the object, under its original names (`blob-<name>` entries given back
   * their case from `source-metadata-names`).
   */
  metadata: Record<string, string>;
}

/** Reads (and decodes) the provenance metadata a copy wrote; see BACKUP_METADATA. */
export function recordedSourceOf(metadata: Record<string, string> | undefined): RecordedSource {
  const read = (name: string) => {
    const value = metadata?.[name];
    return value === undefined ? undefined : decodeHeaderValue(value);
  };
  const date = (name: string) => {
    const value = read(name);
    const parsed = value === undefined ? undefined : new Date(value);
    return parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
  };
  const spelling = new Map((read(BACKUP_METADATA.metadataNames) ?? '').split(',').map((name) => [name.toLowerCase(), name]));
  const blobMetadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata ?? {})) {
    if (!name.startsWith(BACKUP_METADATA.blobMetadataPrefix)) continue;
    const lowered = name.slice(BACKUP_METADATA.blobMetadataPrefix.length);
    blobMetadata[spelling.get(lowered) ?? lowered] = decodeHeaderValue(value);
  }
  return {
    etag: read(BACKUP_METADATA.sourceEtag),
    lastModified: date(BACKUP_METADATA.sourceLastModified),
    md5Base64: read(BACKUP_METADATA.sourceMd5),
    sequencer: normalizeSequencer(read(BACKUP_METADATA.sequencer)),
    blobType: read(BACKUP_METADATA.blobType),
    creationTime: date(BACKUP_METADATA.creationTime),
    accessTier: read(BACKUP_METADATA.accessTier),
    inSidecar: (read(BACKUP_METADATA.sidecar) ?? '').split(',').filter(Boolean),
    metadata: blobMetadata,
  };
}

/** What the target holds for a key: its own S3 ETag (for If-Match; undefined when there is no object) and what it records. */
export interface TargetState {
  s3Etag: string | undefined;
  recorded: RecordedSource | undefined;
  /** What the HEAD said of the object besides its metadata; undefined when there is none. */
  object?: TargetObjectState;
}

export interface TargetObjectState {
  size: number;
  /** STANDARD when the HEAD names none. */
  storageClass: string;
  /** x-amz-tagging-count (0 when absent). */
  tagCount: number;
  /** The full-object CRC32/CRC32C S3 stores, when it stores one (`fullObjectChecksumOf`). */
  checksum: { algorithm: 'CRC32' | 'CRC32C'; value: string } | undefined;
  /** The user metadata as stored (names lower case, values as sent). */
  metadata: Record<string, string>;
  headers: {
    ContentType: string | undefined;
    ContentEncoding: string | undefined;
    ContentLanguage: string | undefined;
    ContentDisposition: string | undefined;
    CacheControl: string | undefined;
  };
}

export type Verdict = 'copy' | 'skipped-up-to-date' | 'skipped-newer-in-target';

/**
 * Whether the source version should replace what the target holds. The sequencer decides when both
 * sides know it (it orders writes to one blob exactly); otherwise Last-Modified does, and a tie goes to
 * the copy (the source we just read is the blob's current version). `source.sequencer` must be
 * normalised (normalizeSequencer).
 */
export function judge(target: TargetState, source: { etag: string; lastModified: Date; sequencer: string | undefined }): Verdict {
  const recorded = target.recorded;
  if (target.s3Etag === undefined || !recorded) return 'copy';
  if (recorded.etag !== undefined && recorded.etag === stripQuotes(source.etag)) return 'skipped-up-to-date';
  if (recorded.sequencer !== undefined && source.sequencer !== undefined) {
    return compareSequencers(recorded.sequencer, source.sequencer) > 0 ? 'skipped-newer-in-target' : 'copy';
  }
  if (recorded.lastModified && recorded.lastModified.getTime() > source.lastModified.getTime()) return 'skipped-newer-in-target';
  return 'copy';
}

/**
 * Whether a delete event is older than the backup S3 holds (the backup was taken from a blob written
 * after the delete), so acting on it would hide a newer version. The sequencers decide when both are
 * known (`deleteEvent.sequencer` normalised); otherwise the recorded Last-Modified is compared with
 * the event's time. Without either pair the delete is not known to be stale: false.
 */
export function isDeleteStale(
  recorded: RecordedSource | undefined,
  deleteEvent: { sequencer?: string | undefined; eventTime?: Date | string | undefined },
): boolean {
  if (!recorded) return false;
  if (recorded.sequencer !== undefined && deleteEvent.sequencer !== undefined) {
    return compareSequencers(recorded.sequencer, deleteEvent.sequencer) > 0;
  }
  const deletedAt = deleteEvent.eventTime === undefined ? Number.NaN : new Date(deleteEvent.eventTime).getTime();
  const recordedAt = recorded.lastModified?.getTime() ?? Number.NaN;
  return Number.isFinite(recordedAt) && Number.isFinite(deletedAt) && recordedAt > deletedAt;
}
