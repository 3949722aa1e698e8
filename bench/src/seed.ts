import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { BACKUP_METADATA } from '@blobferry/contract';
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { mapConcurrently } from './pool.js';

// Test data for the scenarios, written by the bench itself (never measured). Bytes are random so nothing
// downstream can compress or deduplicate them.

export interface SeededBlob {
  name: string;
  size: number;
  etag: string;
  lastModified: Date;
  md5Base64: string;
  /** Date.now() when Azure acknowledged the upload: the start of the event-to-S3 latency. */
  uploadedAt: number;
}

const BLOCK = 8 * 1024 * 1024;

/**
 * Uploads one large blob in 8 MiB blocks (4 in flight). With `contentMd5` (default) its whole-content MD5 is
 * set as Azure's Content-MD5, as azcopy --put-md5 does; block uploads by the SDKs and most tools set none.
 */
export async function uploadLargeBlob(
  container: ContainerClient,
  name: string,
  size: number,
  options: { contentMd5?: boolean } = {},
): Promise<SeededBlob> {
  const blob = container.getBlockBlobClient(name);
  const md5 = createHash('md5');
  const blockIds: string[] = [];
  const count = Math.ceil(size / BLOCK);
  const inFlight = new Set<Promise<void>>();
  for (let index = 0; index < count; index++) {
    const length = Math.min(BLOCK, size - index * BLOCK);
    const bytes = randomFillSync(Buffer.allocUnsafe(length));
    md5.update(bytes);
    const blockId = Buffer.from(`block-${String(index).padStart(8, '0')}`).toString('base64');
    blockIds.push(blockId);
    const staged: Promise<void> = blob.stageBlock(blockId, bytes, length).then(() => {
      inFlight.delete(staged);
    });
    inFlight.add(staged);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const md5Base64 = md5.digest('base64');
  const committed = await blob.commitBlockList(blockIds, {
    blobHTTPHeaders: {
      ...(options.contentMd5 === false ? {} : { blobContentMD5: Buffer.from(md5Base64, 'base64') }),
      blobContentType: 'application/octet-stream',
    },
  });
  return seededBlob(name, size, committed, md5Base64);
}

/** What a bench run remembers of a blob it uploaded, from the service's answer. */
function seededBlob(name: string, size: number, response: { etag?: string; lastModified?: Date }, md5Base64: string): SeededBlob {
  return { name, size, etag: response.etag ?? '', lastModified: response.lastModified ?? new Date(), md5Base64, uploadedAt: Date.now() };
}

/** One PutBlob with its Content-MD5, as single-shot uploads record it. */
async function uploadSmallBlob(container: ContainerClient, name: string, bytes: Buffer): Promise<SeededBlob> {
  const md5Base64 = createHash('md5').update(bytes).digest('base64');
  const response = await container.getBlockBlobClient(name).upload(bytes, bytes.length, {
    blobHTTPHeaders: { blobContentMD5: Buffer.from(md5Base64, 'base64'), blobContentType: 'application/octet-stream' },
  });
  return seededBlob(name, bytes.length, response, md5Base64);
}

export interface UploadSmallBlobsOptions {
  container: ContainerClient;
  names: string[];
  size: number;
  concurrency: number;
  onUploaded?: (blob: SeededBlob, bytes: Buffer) => Promise<void>;
}

/** Uploads many small blobs (single PutBlob each, so Azure records their Content-MD5). */
export async function uploadSmallBlobs(o: UploadSmallBlobsOptions): Promise<SeededBlob[]> {
  // One random pool, sliced at a different offset per blob: random-looking content without 100k RNG calls.
  const pool = randomBytes(o.size + 4096);
  return mapConcurrently(o.names, o.concurrency, async (name, index) => {
    const offset = (index * 997) % 4096;
    const bytes = pool.subarray(offset, offset + o.size);
    const blob = await uploadSmallBlob(o.container, name, bytes);
    await o.onUploaded?.(blob, bytes);
    return blob;
  });
}

export interface PutBackupObjectOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  blob: SeededBlob;
  bytes: Buffer;
}

/**
 * Writes the S3 object a blobferry copy of `blob` would have written (same bytes, same provenance metadata as
 * libs/transfer's targetHeadersFor), without copying: seeding 100k in-sync pairs through the copy would take
 * longer than the benchmark itself.
 */
export async function putBackupObject(o: PutBackupObjectOptions): Promise<void> {
  await o.s3.send(
    new PutObjectCommand({
      Bucket: o.bucket,
      Key: o.key,
      Body: o.bytes,
      ContentMD5: o.blob.md5Base64,
      ContentType: 'application/octet-stream',
      Metadata: backupMetadata(o.blob),
    }),
  );
}

/** The provenance metadata libs/transfer records on a copy of `blob` (user metadata names, without x-amz-meta-). */
export function backupMetadata(blob: SeededBlob): Record<string, string> {
  return {
    [BACKUP_METADATA.sourceEtag]: blob.etag.replace(/^"|"$/g, ''),
    [BACKUP_METADATA.sourceLastModified]: blob.lastModified.toISOString(),
    [BACKUP_METADATA.sourceMd5]: blob.md5Base64,
  };
}

export interface UploadBlobsOfSizesOptions {
  container: ContainerClient;
  blobs: ReadonlyArray<{ name: string; size: number }>;
  concurrency: number;
}

/**
 * Uploads a set of blobs of mixed sizes: up to 8 MiB as one PutBlob with its Content-MD5, above it in 8 MiB
 * blocks (uploadLargeBlob, Content-MD5 set as azcopy --put-md5 does). Blobs are uploaded `concurrency` at once.
 */
export async function uploadBlobsOfSizes(o: UploadBlobsOfSizesOptions): Promise<SeededBlob[]> {
  const largestSmall = Math.max(0, ...o.blobs.map((blob) => blob.size).filter((size) => size <= BLOCK));
  const pool = randomBytes(largestSmall + 4096);
  return mapConcurrently(o.blobs, o.concurrency, async ({ name, size }, index) => {
    if (size > BLOCK) return uploadLargeBlob(o.container, name, size);
    const offset = (index * 997) % 4096;
    return uploadSmallBlob(o.container, name, pool.subarray(offset, offset + size));
  });
}
