import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobClient } from '@azure/storage-blob';
import { checksumField, type ChecksumAlgorithm } from './checksum.js';
import { stripQuotes } from './metadata.js';
import { judge, type TargetState, type Verdict } from './ordering.js';
import type { S3EndpointFeatures } from './s3-endpoint.js';
import type { SourceSnapshot } from './source.js';

// What one copy knows once its source is read, shared by the single-PutObject and multipart paths
// (put-object.ts, multipart.ts) and the ordering guard of their commit (commit-guard.ts).

/** Called after each part (or the single PutObject) reached S3. */
export type ProgressListener = (progress: { bytes: number; totalBytes: number }) => void;

export interface CopyResult {
  outcome: 'copied' | 'skipped-up-to-date' | 'skipped-newer-in-target';
  key: string;
  /** Bytes written to S3 by this call (0 when skipped). */
  bytes: number;
  /** 1 for a single PutObject, the part count for a multipart upload, 0 when skipped. */
  parts: number;
  /** Source ETag, without quotes (as stored in `source-etag`). */
  sourceEtag: string;
  /** MD5 of the content (computed while streaming; for up-to-date skips, the one recorded on the object). */
  md5Base64: string | undefined;
  /** Present only when the S3 endpoint echoed this exact checksum back, i.e. stored and checked it. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  durationMs: number;
}

export interface CopyContext {
  blob: BlobClient;
  sequencer: string | undefined;
  s3: S3Client;
  bucket: string;
  key: string;
  replaceS3Etag: string | undefined;
  snapshot: SourceSnapshot;
  features: S3EndpointFeatures;
  /** The target as the first HeadObject saw it, which the commit is conditional on; undefined when not read (a small blob created optimistically). */
  seen: TargetState | undefined;
  abortSignal: AbortSignal | undefined;
  onProgress: ProgressListener | undefined;
  started: number;
}

export function skipped(context: CopyContext, verdict: Exclude<Verdict, 'copy'>, recordedMd5: string | undefined): CopyResult {
  return {
    outcome: verdict,
    key: context.key,
    bytes: 0,
    parts: 0,
    sourceEtag: stripQuotes(context.snapshot.etag),
    md5Base64: verdict === 'skipped-up-to-date' ? recordedMd5 : undefined,
    durationMs: performance.now() - context.started,
  };
}

/** `judge`, except that the object the caller asked to replace is never up to date (see `target.replace`). */
export function verdictFor(context: CopyContext, target: TargetState): Verdict {
  const verdict = judge(target, { ...context.snapshot, sequencer: context.sequencer });
  const replace = context.replaceS3Etag;
  const isReplaced = replace !== undefined && target.s3Etag !== undefined && stripQuotes(target.s3Etag) === stripQuotes(replace);
  return verdict === 'skipped-up-to-date' && isReplaced ? 'copy' : verdict;
}

export function checksumFields(algorithm: ChecksumAlgorithm | undefined, value: string | undefined): Record<string, string> {
  return algorithm && value ? { [checksumField[algorithm]]: value } : {};
}

export function echoedChecksum(
  response: object,
  algorithm: ChecksumAlgorithm | undefined,
  value: string | undefined,
): CopyResult['checksum'] {
  if (!algorithm || !value) return undefined;
  return (response as Record<string, unknown>)[checksumField[algorithm]] === value ? { algorithm, value } : undefined;
}
