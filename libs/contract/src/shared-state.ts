import { createHash } from 'node:crypto';
import { z } from 'zod';

// What the backup Function's instances share in the state container (STATE_CONTAINER_URL), read by
// GET /api/health on any instance, the sweep's report and verify: the permanent failures, recorded with
// their reason, and which dependency has been failing since when.

/** The services a copy depends on, each reported by health when it has been failing. */
export const DEPENDENCIES = ['s3', 'sts', 'source'] as const;
export type Dependency = (typeof DEPENDENCIES)[number];

export const FAILURES_PREFIX = 'failures/';
export const OUTAGES_PREFIX = 'outages/';

/**
 * The record of one blob's permanent failure: `failures/<account>/<container>/<SHA-256 of the blob name, hex>.json`.
 * A blob name may be up to 1,024 characters of anything, its S3 key longer than S3 allows: the hash keeps
 * every record name short and safe.
 */
export function failureRecordName(blob: { account: string; container: string; blobName: string }): string {
  const digest = createHash('sha256').update(blob.blobName, 'utf8').digest('hex');
  return `${FAILURES_PREFIX}${blob.account.toLowerCase()}/${blob.container}/${digest}.json`;
}

export const failureRecordSchema = z.object({
  account: z.string(),
  container: z.string(),
  blobName: z.string(),
  /** The blob's URL without a query. */
  url: z.string(),
  /** The S3 key its backup would have, when one can be formed. */
  key: z.string().optional(),
  reason: z.string(),
  /** The error's class (`SourceNotFoundError`, `KeyTooLongError`, ...): what a reader branches on. */
  errorClass: z.string(),
  firstSeen: z.iso.datetime(),
  lastSeen: z.iso.datetime(),
  /** The event whose handling failed last. */
  eventId: z.string(),
});

export type FailureRecord = z.infer<typeof failureRecordSchema>;

/** `outages/<dependency>.json`: written at the first failure of an outage, removed at the first success after it. */
export function outageRecordName(dependency: Dependency): string {
  return `${OUTAGES_PREFIX}${dependency}.json`;
}

export const outageRecordSchema = z.object({
  dependency: z.enum(DEPENDENCIES),
  /** When the first failure was seen. */
  since: z.iso.datetime(),
  /** What that failure was (redacted), e.g. `S3: connection refused (ECONNREFUSED)`. */
  firstError: z.string(),
});

export type OutageRecord = z.infer<typeof outageRecordSchema>;

/**
 * The last outage of a dependency once it ended: `outages-ended/<dependency>.json`, written when the first success
 * removes the outage's record. Blobs written during it may still wait for their retry when the sweep runs next, so
 * the sweep counts them as expected finds, not missed events.
 */
export const ENDED_OUTAGES_PREFIX = 'outages-ended/';

export function endedOutageRecordName(dependency: Dependency): string {
  return `${ENDED_OUTAGES_PREFIX}${dependency}.json`;
}

export const endedOutageRecordSchema = outageRecordSchema.extend({ endedAt: z.iso.datetime() });

export type EndedOutageRecord = z.infer<typeof endedOutageRecordSchema>;
