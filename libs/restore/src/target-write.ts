import type { S3Client } from '@aws-sdk/client-s3';
import { RestError, type BlobHTTPHeaders, type ContainerClient, type Tags } from '@azure/storage-blob';
import type { ByteCheck } from './byte-check.js';
import type { BlobType, RecordedVersion } from './recorded-version.js';

// What every write of a version to the target shares, whichever way its bytes go: the options, the
// condition of the one request that makes it visible, and the properties that request carries.

/**
 * How the bytes get there.
 * - `server-side`: Azure's Put Blob From URL reads a presigned URL of the version, and checks the recorded MD5
 *   (x-ms-source-content-md5) before the blob exists; no byte passes through this process.
 * - `streamed`: this process reads the version (ranges pinned to its version id) and writes it, checking every
 *   byte against the recorded checksum before the write that makes it visible.
 */
export type CopyPath = 'server-side' | 'streamed';

export interface CopyPathRule {
  serverSide: boolean;
  singleShotBytes: number;
}

/** The condition of the one write that makes content visible: the target as the plan saw it. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export interface WriteBlobOptions {
  s3: S3Client;
  bucket: string;
  version: RecordedVersion;
  tags: Record<string, string>;
  container: ContainerClient;
  /** The blob's name at the target. */
  name: string;
  /** The blob at the target as the plan listed it; undefined where there was none. */
  target: { etag: string; blobType: BlobType } | undefined;
  rule: CopyPathRule;
  blockBytes: number;
  blocksInFlight: number;
  abortSignal?: AbortSignal | undefined;
}

export interface WriteBlobResult {
  path: CopyPath;
  check: ByteCheck;
  /** Bytes this process read from S3 (0 server-side; a resumed blob reads only its missing blocks). */
  bytesRead: number;
}

/** The target changed after the plan (a conditional write was refused): nothing was replaced. */
export class TargetChangedError extends Error {
  override readonly name = 'TargetChangedError';
}

/** The type the version is written as: a backup that did not record one held a block blob. */
export const blobTypeOf = (version: Pick<RecordedVersion, 'blobType'>): BlobType => version.blobType ?? 'BlockBlob';

/**
 * The condition of the write that makes the version visible, right before it is sent. Azure writes a blob over
 * one of the same type only (Copy Blob, Put Block, Append Block refuse another): a blob of another type at the
 * target (an append blob that ransomware replaced with a block blob) is deleted first, on the condition that
 * it is still the blob the plan saw, and the write then creates the name (`If-None-Match: *`). Between the
 * two the name is absent, never half-written.
 */
export async function visibleWriteCondition(options: WriteBlobOptions): Promise<WriteCondition> {
  const { target } = options;
  if (!target) return { ifNoneMatch: '*' };
  if (target.blobType === blobTypeOf(options.version)) return { ifMatch: target.etag };
  try {
    await options.container.getBlobClient(options.name).delete({
      conditions: { ifMatch: target.etag },
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
  } catch (error) {
    if (!(error instanceof RestError && error.statusCode === 404)) throw error;
  }
  return { ifNoneMatch: '*' };
}

export function httpHeadersOf(version: RecordedVersion, md5Base64: string | undefined): BlobHTTPHeaders {
  const { contentHeaders } = version;
  return {
    ...(contentHeaders.contentType !== undefined ? { blobContentType: contentHeaders.contentType } : {}),
    ...(contentHeaders.contentEncoding !== undefined ? { blobContentEncoding: contentHeaders.contentEncoding } : {}),
    ...(contentHeaders.contentLanguage !== undefined ? { blobContentLanguage: contentHeaders.contentLanguage } : {}),
    ...(contentHeaders.contentDisposition !== undefined ? { blobContentDisposition: contentHeaders.contentDisposition } : {}),
    ...(contentHeaders.cacheControl !== undefined ? { blobCacheControl: contentHeaders.cacheControl } : {}),
    ...(md5Base64 !== undefined ? { blobContentMD5: Buffer.from(md5Base64, 'base64') } : {}),
  };
}

/** The index tags a write carries (`x-ms-tags`), when there are any. */
export function tagsOf(options: Pick<WriteBlobOptions, 'tags'>): { tags?: Tags } {
  return Object.keys(options.tags).length > 0 ? { tags: options.tags } : {};
}

/** What a block blob's visible write carries: headers, metadata, index tags, tier, the condition. */
export function blockBlobPropertiesOf(options: WriteBlobOptions, md5Base64: string | undefined, condition: WriteCondition) {
  return {
    blobHTTPHeaders: httpHeadersOf(options.version, md5Base64),
    metadata: options.version.metadata,
    ...tagsOf(options),
    ...(options.version.accessTier !== undefined ? { tier: options.version.accessTier } : {}),
    conditions: condition,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  };
}
