import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checksumField, type ChecksumAlgorithm } from './checksum.js';
import { recordedSourceOf, stripQuotes, type RecordedSource } from './metadata.js';
import { httpStatusOf } from './classify.js';

export interface TargetState {
  /** The object's own S3 ETag (for If-Match), undefined when there is no object. */
  s3Etag: string | undefined;
  recorded: RecordedSource | undefined;
}

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

export type Verdict = 'copy' | 'skipped-up-to-date' | 'skipped-newer-in-target';

/** Event Grid sequencers are per-blob strings that order lexically; pad in case lengths ever differ. */
function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const left = a.padStart(width, '0');
  const right = b.padStart(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * Whether the source version should replace what the target holds. The sequencer decides when both
 * sides know it (it orders writes to one blob exactly); otherwise Last-Modified does, and a tie goes to
 * the copy (the source we just read is the blob's current version).
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
