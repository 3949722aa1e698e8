import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import {
  copyBlobToS3,
  deleteBackup,
  type CopyResult,
  type DeleteBackupOutcome,
  type KeyMapping,
  type S3EndpointFeatures,
  type StorageClassByTier,
} from '@blobferry/transfer';
import type { Difference } from '../reconcile.js';
import type { QueueRepair } from './queue-repair.js';

export interface RepairResult {
  /** enqueue: a message for the backup Function fleet (`viaQueue`, backfill) instead of a copy here. */
  action: 'copy' | 'enqueue' | 'delete' | 'none';
  /**
   * planned: `dryRun`; skipped: nothing safe to do (unverifiable or unclassified objects, extras without
   * `deleteExtra`, a newer or meanwhile replaced target, or a message for this version still queued from
   * an earlier run).
   */
  status: 'done' | 'planned' | 'skipped' | 'failed';
  detail?: string;
}

/** A difference the queue repair left for now (QueueRepairOptions.defer). */
export const DEFERRED_DETAIL = 'written within the event lag: its event may still come';

const DELETE_SKIPPED: Record<Exclude<DeleteBackupOutcome, 'marker-written'>, string> = {
  'nothing-to-hide': 'the object is gone already',
  stale: 'the object holds a blob written after the run listed it; verify again',
  changed: 'the object changed since it was listed; verify again',
  superseded: 'the blob exists again at the source; verify again',
};

/** How differences are mended: copied here, or enqueued for the Function fleet (extras are never deleted through it). */
export interface RepairOptions {
  /** Say what would be done, change nothing. */
  dryRun?: boolean;
  /** Delete objects only S3 has (otherwise they are only reported). */
  deleteExtra?: boolean;
  viaQueue?: QueueRepair;
}

function actionFor(difference: Difference, options: RepairOptions): RepairResult['action'] {
  switch (difference.kind) {
    case 'missing':
    case 'sizeMismatch':
    case 'checksumMismatch':
    case 'stale':
    case 'propertiesDiffer':
      return options.viaQueue ? 'enqueue' : 'copy';
    case 'extra':
      return options.deleteExtra && !options.viaQueue ? 'delete' : 'none';
    case 'unverifiable':
    case 'error':
      return 'none';
  }
}

function skippedDetail(difference: Difference, options: RepairOptions): string {
  if (difference.kind === 'error') return `not classified (${difference.error?.reason ?? 'a request failed'}); verify again`;
  if (difference.kind !== 'extra') return 'run with --deep to decide';
  return options.viaQueue ? 'extra objects are never deleted through the queue' : 'extra objects are deleted only with --delete-extra';
}

export interface RepairDifferenceOptions extends RepairOptions {
  difference: Difference;
  container: ContainerClient;
  s3: S3Client;
  bucket: string;
  keys: KeyMapping;
  features?: S3EndpointFeatures;
  storageClassByTier?: StorageClassByTier;
  abortSignal?: AbortSignal;
}

/** Corrupt objects: they record the blob's current version, so only `target.replace` makes the copy write them. */
const REPLACED_KINDS: readonly string[] = ['sizeMismatch', 'checksumMismatch'];

const COPY_SKIPPED: Partial<Record<CopyResult['outcome'], string>> = {
  'skipped-newer-in-target': 'S3 already holds a newer version of the blob',
  // Not the object the run judged: another writer replaced it (or wrote this version) meanwhile.
  'skipped-up-to-date': 'the object changed since it was listed and now records the current blob version; verify again',
  'skipped-archived-in-target':
    'the object is in an archived storage class (GLACIER, DEEP_ARCHIVE), which S3 cannot copy in place: restore it to update its properties (tags were updated)',
};

/**
 * Re-copies a missing, mismatched or stale object from its blob, updates the properties of one whose
 * properties differ (in place, without uploading the bytes), or deletes an extra one when allowed.
 * An object the run found wrong is replaced in place: the copy is told its listed ETag (`target.replace`),
 * so a corrupt object that still records the blob's current version is overwritten, conditionally on
 * still being that object, and S3 never goes without a current version.
 */
export async function repairDifference(o: RepairDifferenceOptions): Promise<RepairResult> {
  const { difference, s3, bucket, abortSignal } = o;
  const action = actionFor(difference, o);
  if (action === 'none') return { action, status: 'skipped', detail: skippedDetail(difference, o) };
  if (o.dryRun) return { action, status: 'planned' };
  try {
    if (action === 'enqueue') {
      const sent = await o.viaQueue?.enqueue(difference, abortSignal);
      if (sent === 'enqueued') return { action, status: 'done' };
      return {
        action,
        status: 'skipped',
        detail: sent === 'deferred' ? DEFERRED_DETAIL : 'a message for this version is still queued from an earlier run',
      };
    }
    if (action === 'delete') {
      // libs/transfer's rules for deletes: only the object listed, only while its blob is still gone, and only
      // as a delete marker on a bucket whose versioning is Enabled (an UnsafeDeleteError otherwise: failed).
      const outcome = await deleteBackup({
        s3,
        bucket,
        key: difference.key,
        ...(difference.target ? { ifMatch: difference.target.etag } : {}),
        sourceExists: () => o.container.getBlobClient(o.keys.nameOf(difference.key)).exists({ abortSignal }),
        abortSignal,
      });
      return outcome === 'marker-written' ? { action, status: 'done' } : { action, status: 'skipped', detail: DELETE_SKIPPED[outcome] };
    }
    const listed = difference.target;
    const source = difference.source;
    // A property-only difference takes the copy's own property path: it never uploads the bytes again.
    const result = await copyBlobToS3({
      source: {
        blob: o.container.getBlobClient(source?.name ?? ''),
        ...(source?.metadata ? { metadataNames: Object.keys(source.metadata) } : {}),
      },
      target: {
        s3,
        bucket,
        key: difference.key,
        prefix: o.keys.prefix,
        ...(listed ? { exists: true } : {}),
        ...(o.features ? { features: o.features } : {}),
        ...(listed && REPLACED_KINDS.includes(difference.kind) ? { replace: { s3Etag: listed.etag } } : {}),
      },
      ...(o.storageClassByTier ? { storageClassByTier: o.storageClassByTier } : {}),
      abortSignal,
    });
    const skipped = COPY_SKIPPED[result.outcome];
    if (skipped) return { action, status: 'skipped', detail: skipped };
    return {
      action,
      status: 'done',
      ...(result.outcome === 'properties-updated' ? { detail: `updated in place: ${result.changed?.join(', ')}` } : {}),
    };
  } catch (error) {
    return { action, status: 'failed', detail: (error as Error).message };
  }
}
