import { HeadObjectCommand, type HeadObjectCommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { checksumField, type ChecksumAlgorithm, type FullObjectChecksumAlgorithm } from './checksum.js';
import { recordedSourceOf, type TargetObjectState, type TargetState } from './ordering.js';
import { httpStatusOf } from './classify.js';

export interface HeadTargetOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  abortSignal?: AbortSignal | undefined;
}

/** What the object at `key` records of the source version it holds; no object (404, or 403, see below) is `s3Etag: undefined`. */
export async function headTarget(options: HeadTargetOptions): Promise<TargetState> {
  const { s3, bucket, key, abortSignal } = options;
  try {
    // ChecksumMode: the stored full-object checksum, which can show a blob's bytes equal to the object's
    // without reading the object (a metadata-only change, property-update.ts).
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), { abortSignal });
    return { s3Etag: head.ETag, recorded: recordedSourceOf(head.Metadata), object: objectStateOf(head) };
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

export function objectStateOf(head: HeadObjectCommandOutput): TargetObjectState {
  return {
    size: head.ContentLength ?? 0,
    storageClass: head.StorageClass ?? 'STANDARD',
    tagCount: head.TagCount ?? 0,
    checksum: fullObjectChecksumOf(head),
    metadata: head.Metadata ?? {},
    headers: {
      ContentType: head.ContentType,
      ContentEncoding: head.ContentEncoding,
      ContentLanguage: head.ContentLanguage,
      ContentDisposition: head.ContentDisposition,
      CacheControl: head.CacheControl,
    },
  };
}

/** The full-object checksum the endpoint stores for `algorithm`, if any, and the object's S3 ETag. */
export async function storedChecksum(
  s3: S3Client,
  bucket: string,
  key: string,
  algorithm: ChecksumAlgorithm,
  abortSignal: AbortSignal | undefined,
) {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }), { abortSignal });
  return { value: head[checksumField[algorithm]], s3Etag: head.ETag };
}

const COMPOSITE_VALUE = /-\d+$/;
const MULTIPART_ETAG = /-\d+"?$/;

/**
 * The full-object CRC32 or CRC32C a HEAD sent with `ChecksumMode: 'ENABLED'` reports: a checksum of the
 * object's whole content, which S3 validated against the bytes it received when the object was written.
 * Undefined when there is none to compare a recomputed CRC with:
 * - `ChecksumType: COMPOSITE`, or a value spelt `<base64>-<parts>`: a checksum of the parts' checksums;
 * - no `ChecksumType` on a multipart object (ETag `...-N`): moto reports composite checksums that way,
 *   without the part count, so only a single-part object (whose checksum always covers the whole
 *   content) is taken at its word when the type is absent;
 * - only another algorithm (CRC64NVME, SHA*), or no checksum (s3rver, objects written without one).
 */
export function fullObjectChecksumOf(head: HeadObjectCommandOutput): { algorithm: FullObjectChecksumAlgorithm; value: string } | undefined {
  if (head.ChecksumType === 'COMPOSITE') return undefined;
  for (const algorithm of ['CRC32', 'CRC32C'] as const) {
    const value = head[checksumField[algorithm]];
    if (!value) continue;
    if (COMPOSITE_VALUE.test(value)) return undefined;
    if (head.ChecksumType === 'FULL_OBJECT' || (head.ChecksumType === undefined && !MULTIPART_ETAG.test(head.ETag ?? '')))
      return { algorithm, value };
    return undefined;
  }
  return undefined;
}
