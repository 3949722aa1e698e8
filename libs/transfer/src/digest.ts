import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BlobClient } from '@azure/storage-blob';
import { DOWNLOAD_RESUMES } from '@blobferry/retry-policy';
import { ContentChecksum, ContentDigest, type FullObjectChecksumAlgorithm } from './checksum.js';
import { combineChecksums } from './crc-combine.js';
import { pipelineParts, reusableBuffers, splitIntoParts, type PartRange } from './pipeline.js';
import { openFirstRange, pinOf, readRange, streamRange } from './source.js';

/** The MD5 holds a range read ahead of its turn in a buffer: 4 of these per blob. */
const DIGEST_RANGE_SIZE = 8 * 1024 * 1024;
/**
 * A CRC streams each range without holding it, so its ranges can be larger: fewer requests for
 * Azure to serve and the client to make (a 16 MiB blob is one GET).
 */
const CHECKSUM_RANGE_SIZE = 16 * 1024 * 1024;
const DIGEST_CONCURRENCY = 4;

export interface DigestBlobOptions {
  blob: BlobClient;
  abortSignal?: AbortSignal;
  /**
   * Compute this S3 full-object checksum (base64, as S3 spells it) instead of the MD5, to compare with
   * the one S3 stores for the object (`fullObjectChecksumOf`) without reading the object.
   */
  checksum?: FullObjectChecksumAlgorithm;
}

/**
 * MD5 (or, with `checksum`, that CRC) of a blob's current content, read in ranges, 4 at a time: the
 * first range's GET also yields the ETag and length, and the others are pinned to that ETag
 * (SourceChangedError if it is overwritten meanwhile). Memory stays around 32 MiB whatever the size.
 */
export async function digestBlob(
  options: DigestBlobOptions & { checksum?: undefined },
): Promise<{ md5Base64: string; bytes: number; etag: string }>;
export async function digestBlob(
  options: DigestBlobOptions & { checksum: FullObjectChecksumAlgorithm },
): Promise<{ checksum: { algorithm: FullObjectChecksumAlgorithm; value: string }; bytes: number; etag: string }>;
export async function digestBlob(
  options: DigestBlobOptions,
): Promise<{ md5Base64?: string; checksum?: { algorithm: FullObjectChecksumAlgorithm; value: string }; bytes: number; etag: string }> {
  const { blob, abortSignal, checksum } = options;
  const rangeSize = checksum ? CHECKSUM_RANGE_SIZE : DIGEST_RANGE_SIZE;
  const first = await openFirstRange(blob, rangeSize, abortSignal);
  const { snapshot } = first;
  const parts = splitIntoParts(snapshot.length, rangeSize);
  const pin = pinOf(snapshot);
  const isFirst = (part: PartRange) => part.offset === 0 && part.count === first.count;
  const result = { bytes: snapshot.length, etag: snapshot.etag };
  try {
    if (checksum) {
      // Each range's CRC is computed from its chunks as they stream in (no range is assembled in memory),
      // and the ranges' CRCs are combined in order (crc-combine.ts).
      const rangeChecksums: { checksumBase64: string; bytes: number }[] = [];
      await pipelineParts({
        parts,
        concurrency: DIGEST_CONCURRENCY,
        abortSignal,
        read: async (part, signal) => {
          const crc = new ContentChecksum(checksum);
          const onChunk = (chunk: Buffer) => crc.update(chunk);
          if (isFirst(part)) await first.consume(onChunk, signal);
          else await streamRange(blob, { offset: part.offset, count: part.count, pin }, signal, onChunk);
          return { checksumBase64: await crc.finish(), bytes: part.count };
        },
        consumeInOrder: (_part, rangeChecksum) => rangeChecksums.push(rangeChecksum),
      });
      const value = rangeChecksums.length === 0 ? await new ContentChecksum(checksum).finish() : combineChecksums(checksum, rangeChecksums);
      return { checksum: { algorithm: checksum, value }, ...result };
    }
    // MD5 needs the ranges in order, so a range read ahead of its turn is held in one of the buffers.
    const digest = new ContentDigest();
    const buffers = reusableBuffers(DIGEST_RANGE_SIZE);
    await pipelineParts({
      parts,
      concurrency: DIGEST_CONCURRENCY,
      abortSignal,
      read: (part, signal) =>
        buffers.readInto((buffer) =>
          isFirst(part) ? first.readInto(buffer, signal) : readRange(blob, { offset: part.offset, count: part.count, pin }, signal, buffer),
        ),
      consumeInOrder: (_part, { buffer, data }) => {
        digest.update(data);
        buffers.giveBack(buffer);
      },
    });
    return { md5Base64: digest.finish().md5Base64, ...result };
  } finally {
    // A pipeline that stopped before reading the first range leaves its body open.
    first.discard();
  }
}

/**
 * MD5 of an S3 object's bytes, streamed (a multipart ETag is never an MD5, so this reads the content).
 * A body cut off mid-stream resumes where it stopped, pinned to the first answer's ETag (the SDK
 * retries requests, not a body it has already handed over), at most DOWNLOAD_RESUMES times.
 */
export async function digestObject(options: {
  s3: S3Client;
  bucket: string;
  key: string;
  abortSignal?: AbortSignal;
}): Promise<{ md5Base64: string; bytes: number }> {
  const { s3, bucket, key, abortSignal } = options;
  const md5 = createHash('md5');
  let bytes = 0;
  let version: { etag: string | undefined; length: number | undefined } | undefined;
  for (let resumes = 0; ; resumes++) {
    const resume = version ? { Range: `bytes=${bytes}-`, ...(version.etag ? { IfMatch: version.etag } : {}) } : {};
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...resume }), { abortSignal });
    version ??= { etag: response.ETag, length: response.ContentLength };
    try {
      for await (const chunk of (response.Body ?? []) as AsyncIterable<Uint8Array>) {
        md5.update(chunk);
        bytes += chunk.length;
      }
      return { md5Base64: md5.digest('base64'), bytes };
    } catch (error) {
      if (abortSignal?.aborted || resumes >= DOWNLOAD_RESUMES) throw error;
      if (version.length !== undefined && bytes >= version.length) return { md5Base64: md5.digest('base64'), bytes };
    }
  }
}
