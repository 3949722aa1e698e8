import type { BackupSettings, Dependency } from '@blobferry/contract';
import type { CopyResult, DeleteBackupOutcome } from '@blobferry/transfer';
import type { BackupClients } from '../clients.js';
import type { BlobRef } from '../validate-event.js';

export interface ActionDeps {
  config: BackupSettings;
  clients: BackupClients;
}

/** What a copy did (libs/transfer's vocabulary, extended there as copies learn more). */
export type CopyOutcome = CopyResult['outcome'];

/** What the delete policy did with a backup whose blob is gone. */
export type DeleteOutcome = 'delete-retained' | `delete-${Exclude<DeleteBackupOutcome, 'changed'>}`;

/** How many blobs of a directory event ended each way. */
export type Tally = Partial<Record<CopyOutcome | DeleteOutcome | 'failed-permanent', number>>;

/** What one event's action did, for its log line, and what it proved about the dependencies and blobs. */
export interface ActionResult {
  outcome: CopyOutcome | DeleteOutcome | 'renamed' | 'directory-renamed' | 'directory-deleted';
  key?: string;
  bytes?: number;
  parts?: number;
  /** More fields for the log line. */
  details: Record<string, unknown>;
  /** A warning rather than information (a lying contentLength; a blob of a directory that failed for good). */
  warn: boolean;
  /** The services that just answered: their outages, if any, are over. */
  proven: readonly Dependency[];
  /** Blobs whose backup now holds them: their recorded permanent failures, if any, are cleared. */
  backedUp: readonly BlobRef[];
}

/** Every dependency: a copy reads the source and writes S3 with STS's credentials. */
export const COPY_PROVES: readonly Dependency[] = ['source', 'sts', 's3'];
/** A delete under the policy asks S3 (with STS's credentials) before anything else. */
export const DELETE_PROVES: readonly Dependency[] = ['sts', 's3'];

export function tally(outcomes: ReadonlyArray<keyof Tally>): Tally {
  const counts: Tally = {};
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
  return counts;
}
