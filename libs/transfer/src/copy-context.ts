import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobClient } from '@azure/storage-blob';
import type { AccessTier, StorageClass } from '@blobferry/contract';
import { checksumField, type ChecksumAlgorithm } from './checksum.js';
import { stripQuotes } from './metadata.js';
import { planObjectProperties, type ObjectProperties } from './object-properties.js';
import { judge, type TargetState, type Verdict } from './ordering.js';
import type { S3EndpointFeatures } from './s3-endpoint.js';
import { writeSidecar } from './sidecar.js';
import type { SourceSnapshot } from './source.js';
import type { Tags } from './tags.js';

// What one copy knows once its source is read, shared by the single-PutObject and multipart paths
// (put-object.ts, multipart.ts) and the ordering guard of their commit (commit-guard.ts).

/** Called after each part (or the single PutObject) reached S3. */
export type ProgressListener = (progress: { bytes: number; totalBytes: number }) => void;

/** Which S3 storage class a blob of each access tier is kept in (STORAGE_CLASS_BY_TIER); STANDARD for any tier not named. */
export type StorageClassByTier = Partial<Record<AccessTier, StorageClass>>;

/** What a property-only update changed (or, for `skipped-archived-in-target`, found different). */
export type PropertyChange = 'source-version' | 'metadata' | 'headers' | 'tags' | 'access-tier' | 'storage-class';

/**
 * - `copied`: the bytes were written;
 * - `skipped-up-to-date`: the object holds this version, with these properties;
 * - `skipped-newer-in-target`: the object holds a newer version;
 * - `properties-updated`: the object's bytes equal the blob's and only properties differed: they were
 *   updated in place (`changed`), the bytes never uploaded again;
 * - `skipped-archived-in-target`: properties differ but the object is in an archived storage class
 *   (GLACIER, DEEP_ARCHIVE), which S3 cannot copy in place; tags were still updated. Reported, not failed.
 */
export type CopyOutcome = 'copied' | 'skipped-up-to-date' | 'skipped-newer-in-target' | 'properties-updated' | 'skipped-archived-in-target';

export interface CopyResult {
  outcome: CopyOutcome;
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
  /** With `properties-updated` and `skipped-archived-in-target`: what differed. */
  changed?: PropertyChange[];
  /**
   * Present when part of the blob's properties did not fit on the object: the sidecar's key, and the blob
   * metadata names and tag keys written there instead (everything else is on the object).
   */
  sidecar?: { key: string; metadata: string[]; tags: string[] };
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
  storageClassByTier: StorageClassByTier;
  /** Where this object's properties sidecar goes, should anything not fit (`sidecarKeyFor`). */
  sidecarKey: string;
  /** The blob's index tags (one Get Blob Tags, only when the blob has any; read once per copy). */
  sourceTags: () => Promise<Tags>;
  /** The blob is in the Archive tier: its bytes cannot be read, only its properties. */
  archived: boolean;
}

/** The storage class the blob's tier maps to. */
export function storageClassOf(context: CopyContext): StorageClass {
  const tier = context.snapshot.accessTier as AccessTier | undefined;
  return (tier === undefined ? undefined : context.storageClassByTier[tier]) ?? 'STANDARD';
}

/** Everything the object will carry besides its bytes (object-properties.ts). */
export async function objectPropertiesOf(context: CopyContext, md5Base64: string | undefined): Promise<ObjectProperties> {
  return planObjectProperties({
    snapshot: context.snapshot,
    md5Base64,
    sequencer: context.sequencer,
    tags: await context.sourceTags(),
    storageClass: storageClassOf(context),
  });
}

/** Writes the sidecar of what did not fit, before the object that names it; the result's `sidecar` report. */
export async function writeSidecarOf(context: CopyContext, properties: ObjectProperties): Promise<Pick<CopyResult, 'sidecar'>> {
  const content = properties.sidecar;
  if (!content) return {};
  await writeSidecar({
    s3: context.s3,
    bucket: context.bucket,
    sidecarKey: context.sidecarKey,
    key: context.key,
    sourceEtag: context.snapshot.etag,
    content,
    abortSignal: context.abortSignal,
  });
  return { sidecar: { key: context.sidecarKey, metadata: Object.keys(content.metadata), tags: Object.keys(content.tags) } };
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
