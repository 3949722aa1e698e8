import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand, type Part, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { checksumField, checksumOf, type ChecksumAlgorithm } from './checksum.js';
import { stripQuotes } from './metadata.js';
import type { PartRange } from './pipeline.js';
import { httpStatusOf } from './classify.js';
import type { SourceSnapshot } from './source.js';

// A copy interrupted by a crash (a recycled Functions instance) resumes its open multipart upload on the
// next delivery instead of starting again from byte 0. S3 lists an upload's parts but not its metadata, so
// each upload carries a *manifest part*: part 10,000, a few bytes naming the source version (ETag, length,
// last-modified) and the part size. It is never listed in CompleteMultipartUpload, so S3 discards it and it
// never becomes content. Parts cannot be read back, but S3 reports each part's ETag (its MD5) and, for an
// upload with an additional checksum, its CRC: an upload resumes only when its manifest part hashes to the
// manifest this copy would write, i.e. it holds parts of this very source version cut at this part size.

/** The manifest's part number; content parts are 1..MAX_CONTENT_PARTS. */
export const MANIFEST_PART_NUMBER = 10_000;
export const MAX_CONTENT_PARTS = MANIFEST_PART_NUMBER - 1;

export function manifestOf(key: string, snapshot: SourceSnapshot, partSize: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      blobferryUpload: 1,
      key,
      sourceEtag: stripQuotes(snapshot.etag),
      length: snapshot.length,
      lastModified: snapshot.lastModified.toISOString(),
      partSize,
    }),
  );
}

/**
 * The parts of an open upload that can be kept, keyed by part number. `checksumBase64` is the part's CRC
 * as S3 lists it for an upload with an additional checksum (real S3 does; moto 5.2.5 lists none).
 */
export interface ResumableUpload {
  uploadId: string;
  kept: Map<number, { etag: string; size: number; checksumBase64: string | undefined }>;
}

interface Target {
  s3: S3Client;
  bucket: string;
  key: string;
}

async function listUploadIds(target: Target, abortSignal: AbortSignal | undefined): Promise<string[]> {
  const ids: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await target.s3.send(
      new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: target.key, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
      { abortSignal },
    );
    for (const upload of page.Uploads ?? []) if (upload.Key === target.key && upload.UploadId) ids.push(upload.UploadId);
    if (!page.IsTruncated) return ids;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

async function listParts(target: Target, uploadId: string, abortSignal: AbortSignal | undefined): Promise<Part[]> {
  const parts: Part[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await target.s3.send(
      new ListPartsCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId, PartNumberMarker: marker }),
      { abortSignal },
    );
    parts.push(...(page.Parts ?? []));
    if (!page.IsTruncated || page.NextPartNumberMarker === undefined) return parts;
    marker = page.NextPartNumberMarker;
  }
}

export async function abortUpload(target: Target, uploadId: string): Promise<void> {
  try {
    // Not tied to the caller's abortSignal: an aborted copy must still clean up.
    await target.s3.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }), {
      abortSignal: AbortSignal.timeout(60_000),
    });
  } catch {
    // Endpoints without AbortMultipartUpload (s3rver) keep the parts in their store; on real S3 a
    // lifecycle rule (AbortIncompleteMultipartUpload) is the backstop. Either way nothing is visible.
  }
}

export interface FindResumableUploadOptions {
  manifest: Buffer;
  parts: PartRange[];
  algorithm: ChecksumAlgorithm | undefined;
  abortSignal: AbortSignal | undefined;
}

/**
 * Finds this key's open upload of this source version and part size, and which of its parts are whole.
 * Uploads of this key that cannot be resumed (another version, another part size, no manifest, a part of
 * the wrong size) are aborted. Endpoints that cannot list uploads resume nothing.
 */
export async function findResumableUpload(target: Target, o: FindResumableUploadOptions): Promise<ResumableUpload | undefined> {
  let uploadIds: string[];
  try {
    uploadIds = await listUploadIds(target, o.abortSignal);
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 501 || status === 405 || status === 404) return undefined;
    throw error;
  }
  if (uploadIds.length === 0) return undefined;
  const manifestMd5 = createHash('md5').update(o.manifest).digest('hex');
  const manifestChecksum = o.algorithm ? await checksumOf(o.algorithm, o.manifest) : undefined;
  const expectedSize = new Map(o.parts.map((part) => [part.partNumber, part.count]));

  let found: ResumableUpload | undefined;
  for (const uploadId of uploadIds) {
    const listed = await listParts(target, uploadId, o.abortSignal);
    const manifestPart = listed.find((part) => part.PartNumber === MANIFEST_PART_NUMBER);
    const manifestMatches =
      found === undefined &&
      manifestPart !== undefined &&
      manifestPart.Size === o.manifest.length &&
      (stripQuotes(manifestPart.ETag ?? '') === manifestMd5 ||
        (o.algorithm !== undefined && manifestPart[checksumField[o.algorithm]] === manifestChecksum));
    if (!manifestMatches) {
      await abortUpload(target, uploadId);
      continue;
    }
    const kept: ResumableUpload['kept'] = new Map();
    let whole = true;
    for (const part of listed) {
      if (part.PartNumber === MANIFEST_PART_NUMBER) continue;
      const checksumBase64 = o.algorithm ? part[checksumField[o.algorithm]] : undefined;
      const { PartNumber: partNumber, ETag: etag, Size: size } = part;
      if (partNumber === undefined || !etag || size === undefined || size !== expectedSize.get(partNumber)) {
        whole = false;
        break;
      }
      kept.set(partNumber, { etag, size, checksumBase64 });
    }
    if (!whole) {
      await abortUpload(target, uploadId);
      continue;
    }
    found = { uploadId, kept };
  }
  return found;
}
