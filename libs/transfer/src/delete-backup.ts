import { DeleteObjectCommand, GetBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { sidecarKeyFor } from './backup-key.js';
import { isConditionalWriteConflict } from './classify.js';
import { stripQuotes } from './metadata.js';
import { isDeleteStale } from './ordering.js';
import { headTarget } from './target.js';

// What may happen to a backup object when its blob is gone: the one home of deletes, for the Function's
// DELETE_POLICY=delete-marker and for `verify --repair --delete-extra`.
//
// A delete only ever hides a backup behind a delete marker. On a bucket with versioning Enabled,
// DeleteObject adds a marker and every version stays. On a bucket whose versioning was never enabled it
// removes the object for good, and while versioning is Suspended it removes the null version (whatever was
// written while suspended). infra/aws-iam creates the bucket versioned, but an existing bucket
// (CreateBucket=false) is its owner's: so no delete is sent until the bucket itself says Enabled.

/** A delete refused because it could remove a backup for good. Retrying helps once the bucket is versioned. */
export class UnsafeDeleteError extends Error {
  override name = 'UnsafeDeleteError';
}

export interface AssertVersioningEnabledOptions {
  s3: S3Client;
  bucket: string;
  abortSignal?: AbortSignal;
}

/** Resolves when the bucket has versioning Enabled; otherwise an UnsafeDeleteError that says what to change. */
export async function assertVersioningEnabled(options: AssertVersioningEnabledOptions): Promise<void> {
  const { s3, bucket, abortSignal } = options;
  let status: string | undefined;
  try {
    status = (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }), { abortSignal })).Status;
  } catch (error) {
    throw new UnsafeDeleteError(
      `could not read the versioning of bucket "${bucket}" (${(error as Error).name}: ${(error as Error).message}), so no delete is sent. ` +
        'The role needs s3:GetBucketVersioning on the bucket (infra/aws-iam grants it with AllowDeleteMarkers=true).',
      { cause: error },
    );
  }
  if (status !== 'Enabled') {
    throw new UnsafeDeleteError(
      `deleting a backup needs versioning Enabled on bucket "${bucket}", which is ${status ?? 'not versioned'}: ` +
        'a delete there would remove the backup for good. Enable versioning on the bucket, or set DELETE_POLICY=retain (verify: repair without --delete-extra).',
    );
  }
}

export interface DeleteBackupOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  /** The backup prefix `key` is under, where its properties sidecar lives (default none). */
  prefix?: string;
  /** The delete being applied, when it is an event: one older than the backup S3 holds is refused (`stale`). */
  deleteEvent?: { sequencer?: string | undefined; eventTime?: Date | string | undefined };
  /** Only this object (its S3 ETag, as a listing saw it) may be hidden; another one at the key is `changed`. */
  ifMatch?: string;
  /** Whether the blob exists again at the source; a blob written again keeps its backup (`superseded`). */
  sourceExists: () => Promise<boolean>;
  abortSignal?: AbortSignal;
}

/**
 * - `nothing-to-hide`: no object at the key (or one the caller may not read, as S3 answers a role confined to a prefix);
 * - `stale`: the object holds a blob written after the delete;
 * - `changed`: the object is not the one `ifMatch` named, or was replaced between the check and the delete;
 * - `superseded`: the blob exists again at the source;
 * - `marker-written`: the backup is now behind a delete marker; its versions stay. So is its properties
 *   sidecar, when the object recorded one.
 */
export type DeleteBackupOutcome = 'nothing-to-hide' | 'stale' | 'changed' | 'superseded' | 'marker-written';

/**
 * Hides a backup behind a delete marker, conditionally on it still being the object judged, and only on a
 * bucket whose versioning is Enabled (UnsafeDeleteError otherwise). Deliveries arrive out of order, so a
 * late delete never hides a newer backup.
 */
export async function deleteBackup(options: DeleteBackupOptions): Promise<DeleteBackupOutcome> {
  const { s3, bucket, key, abortSignal } = options;
  const target = await headTarget({ s3, bucket, key, abortSignal });
  if (target.s3Etag === undefined) return 'nothing-to-hide';
  if (options.ifMatch !== undefined && stripQuotes(options.ifMatch) !== stripQuotes(target.s3Etag)) return 'changed';
  if (options.deleteEvent && isDeleteStale(target.recorded, options.deleteEvent)) return 'stale';
  if (await options.sourceExists()) return 'superseded';
  await assertVersioningEnabled({ s3, bucket, abortSignal });
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key, IfMatch: target.s3Etag }), { abortSignal });
  } catch (error) {
    // Another backup landed between the check and the delete: it wins.
    if (isConditionalWriteConflict(error)) return options.deleteEvent ? 'stale' : 'changed';
    throw error;
  }
  // The sidecar follows its object (and stays in the bucket's versions, as the object does).
  if ((target.recorded?.inSidecar.length ?? 0) > 0) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: sidecarKeyFor({ prefix: options.prefix ?? '', key }) }), { abortSignal });
  }
  return 'marker-written';
}
