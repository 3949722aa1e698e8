import { GetBucketLifecycleConfigurationCommand, GetBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { RestoreSetupError } from './errors.js';

export interface BucketChecksOptions {
  s3: S3Client;
  bucket: string;
  /** The key prefix the restore reads. */
  prefix: string;
  asOf: Date | undefined;
  now: Date;
  abortSignal?: AbortSignal | undefined;
}

const nameOf = (error: unknown) => (error as { name?: string } | undefined)?.name ?? '';
const DAY_MS = 24 * 3600 * 1000;

/**
 * What is checked about the bucket before anything is written, each failure with the fix: with a restore point,
 * the bucket keeps versions. Returns warnings: versions before the point may have expired.
 */
export async function checkBucket(options: BucketChecksOptions): Promise<string[]> {
  const sendOptions = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  const warnings: string[] = [];
  if (options.asOf === undefined) return warnings;

  const versioning = await options.s3.send(new GetBucketVersioningCommand({ Bucket: options.bucket }), sendOptions);
  if (versioning.Status === undefined) {
    throw new RestoreSetupError(
      `The bucket ${options.bucket} has never had versioning enabled, so it holds only the latest copy of each blob: ` +
        'there is no earlier point to restore to. Drop --as-of to restore the current backups (and enable versioning, as infra/aws-iam creates the bucket).',
    );
  }
  if (versioning.Status === 'Suspended') {
    warnings.push(`versioning is Suspended on ${options.bucket}: backups written since then replaced their earlier versions`);
  }
  try {
    const lifecycle = await options.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: options.bucket }), sendOptions);
    for (const rule of lifecycle.Rules ?? []) {
      const days = rule.NoncurrentVersionExpiration?.NoncurrentDays;
      const rulePrefix = rule.Filter?.Prefix ?? rule.Prefix ?? '';
      const applies = options.prefix.startsWith(rulePrefix) || rulePrefix.startsWith(options.prefix);
      if (rule.Status !== 'Enabled' || days === undefined || !applies) continue;
      if (options.now.getTime() - options.asOf.getTime() > days * DAY_MS) {
        warnings.push(
          `--as-of ${options.asOf.toISOString()} is more than ${days} days ago, and the bucket expires noncurrent versions after ${days} days: ` +
            'versions replaced before then may be gone, and such blobs would be restored from a later version or not at all',
        );
      }
    }
  } catch (error) {
    if (nameOf(error) === 'AccessDenied')
      warnings.push('could not read the bucket lifecycle (s3:GetLifecycleConfiguration) to tell whether old versions expire');
    else if (nameOf(error) !== 'NoSuchLifecycleConfiguration') throw error;
  }
  return warnings;
}

/** The listing's failure as the fix it needs, when it is one: the identity may not list versions, or there is no such bucket. */
export function listingSetupError(error: unknown, bucket: string, prefix: string): RestoreSetupError | undefined {
  if (nameOf(error) === 'AccessDenied') {
    return new RestoreSetupError(
      `The AWS identity may not list versions in s3://${bucket}/${prefix} (s3:ListBucketVersions): ` +
        'restore with the restore role (infra/aws-iam output RestoreRoleArn: --role-arn), which reads versions; the backup role never may.',
      { cause: error },
    );
  }
  if (nameOf(error) === 'NoSuchBucket')
    return new RestoreSetupError(`The bucket ${bucket} does not exist: check --bucket and --region.`, { cause: error });
  return undefined;
}
