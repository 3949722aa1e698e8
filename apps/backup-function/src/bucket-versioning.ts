import { GetBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { errorSummary } from './redact.js';

// DELETE_POLICY=delete-marker relies on S3 versioning. On a bucket with versioning Enabled, DeleteObject only
// adds a delete marker and every version of the backup stays. On a bucket whose versioning was never enabled
// it removes the object for good, and while versioning is Suspended it removes the null version (whatever was
// written while suspended). infra/aws-iam creates the bucket versioned, but an existing bucket
// (CreateBucket=false) is its owner's: so no delete is sent until the bucket itself says Enabled.

/** A delete refused because it could remove a backup for good. Thrown, so the event is retried, then kept in the poison queue. */
export class UnsafeDeleteError extends Error {
  override name = 'UnsafeDeleteError';
}

/** Resolves when `bucket` has versioning Enabled; otherwise an UnsafeDeleteError that says what to change. */
export async function assertVersioningEnabled(s3: S3Client, bucket: string, abortSignal?: AbortSignal): Promise<void> {
  let status: string | undefined;
  try {
    status = (await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }), { abortSignal })).Status;
  } catch (error) {
    throw new UnsafeDeleteError(
      `DELETE_POLICY=delete-marker: could not read the versioning of bucket "${bucket}" (${errorSummary(error)}), so no delete is sent. ` +
        'The role needs s3:GetBucketVersioning on the bucket (infra/aws-iam grants it with AllowDeleteMarkers=true).',
      { cause: error },
    );
  }
  if (status !== 'Enabled') {
    throw new UnsafeDeleteError(
      `DELETE_POLICY=delete-marker needs versioning Enabled on bucket "${bucket}", which is ${status ?? 'not versioned'}: ` +
        'a delete there would remove the backup for good. Enable versioning on the bucket, or set DELETE_POLICY=retain.',
    );
  }
}
