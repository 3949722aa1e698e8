import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { copyBlobToS3 } from '@blobferry/transfer';
import type { QueueRepair } from './queue-repair.js';
import type { Difference } from './verify-backup.js';

export interface RepairResult {
  /** enqueue: a message for the backup Function fleet (`--via-queue`, backfill) instead of a copy here. */
  action: 'copy' | 'enqueue' | 'delete' | 'none';
  /**
   * planned: `--dry-run`; skipped: nothing safe to do (unverifiable, extras without --delete-extra, newer
   * target, or a message for this version still queued from an earlier run).
   */
  status: 'done' | 'planned' | 'skipped' | 'failed';
  detail?: string;
}

/** How differences are mended: copied here, or enqueued for the Function fleet (extras are never deleted through it). */
export interface RepairOptions {
  dryRun: boolean;
  deleteExtra: boolean;
  viaQueue?: QueueRepair;
}

function actionFor(difference: Difference, options: RepairOptions): RepairResult['action'] {
  switch (difference.kind) {
    case 'missing':
    case 'sizeMismatch':
    case 'checksumMismatch':
    case 'stale':
      return options.viaQueue ? 'enqueue' : 'copy';
    case 'extra':
      return options.deleteExtra && !options.viaQueue ? 'delete' : 'none';
    case 'unverifiable':
      return 'none';
  }
}

/** Re-copies a missing, mismatched or stale object from its blob, or deletes an extra one when allowed. */
export async function repairDifference(o: RepairOptions & {
  difference: Difference;
  container: ContainerClient;
  s3: S3Client;
  bucket: string;
  abortSignal?: AbortSignal;
}): Promise<RepairResult> {
  const { difference, s3, bucket, abortSignal } = o;
  const action = actionFor(difference, o);
  if (action === 'none') {
    const detail =
      difference.kind !== 'extra'
        ? 'run with --deep to decide'
        : o.viaQueue
          ? 'extra objects are never deleted through the queue'
          : 'extra objects are deleted only with --delete-extra';
    return { action, status: 'skipped', detail };
  }
  if (o.dryRun) return { action, status: 'planned' };
  if (action === 'enqueue') {
    try {
      const sent = await o.viaQueue?.enqueue(difference, abortSignal);
      return sent === 'enqueued' ? { action, status: 'done' } : { action, status: 'skipped', detail: 'a message for this version is still queued from an earlier run' };
    } catch (error) {
      return { action, status: 'failed', detail: (error as Error).message };
    }
  }
  const deleteTarget = () => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: difference.key }), { abortSignal });
  try {
    if (action === 'delete') {
      await deleteTarget();
      return { action, status: 'done' };
    }
    const copy = () =>
      copyBlobToS3({
        source: { blob: o.container.getBlobClient(difference.source?.name ?? '') },
        target: { s3, bucket, key: difference.key },
        abortSignal,
      });
    let result = await copy();
    // The copy trusts the object's recorded source version; a corrupted object keeps it, so it must go first.
    if (result.outcome === 'skipped-up-to-date' && (difference.kind === 'sizeMismatch' || difference.kind === 'checksumMismatch')) {
      await deleteTarget();
      result = await copy();
    }
    if (result.outcome === 'skipped-newer-in-target') {
      return { action, status: 'skipped', detail: 'S3 already holds a newer version of the blob' };
    }
    return { action, status: 'done' };
  } catch (error) {
    return { action, status: 'failed', detail: (error as Error).message };
  }
}
