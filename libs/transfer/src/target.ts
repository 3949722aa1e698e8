import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checksumField, type ChecksumAlgorithm } from './checksum.js';
import { recordedSourceOf, type TargetState } from './ordering.js';
import { httpStatusOf } from './classify.js';

export async function headTarget(s3: S3Client, bucket: string, key: string, abortSignal: AbortSignal | undefined): Promise<TargetState> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
    return { s3Etag: head.ETag, recorded: recordedSourceOf(head.Metadata) };
  } catch (error) {
    // Real S3 answers 403, not 404, for a missing key unless the caller may ListBucket without a prefix
    // condition, which the least-privilege role (infra/aws-iam with a BucketPrefix) does not grant. The
    // role may GetObject every key it writes, so 403 here means "no object"; if it meant a real denial,
    // the write that follows fails with AccessDenied, and that write is conditional (If-None-Match: *).
    const status = httpStatusOf(error);
    if (status === 404 || status === 403) return { s3Etag: undefined, recorded: undefined };
    throw error;
  }
}

/** The full-object checksum the endpoint stores for `algorithm`, if any, and the object's S3 ETag. */
export async function storedChecksum(s3: S3Client, bucket: string, key: string, algorithm: ChecksumAlgorithm, abortSignal: AbortSignal | undefined) {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), { abortSignal });
  return { value: head[checksumField[algorithm]], s3Etag: head.ETag };
}
