import type { BlobClient } from '@azure/storage-blob';
import { DOWNLOAD_RESUMES } from '@blobferry/retry-policy';
import { httpStatusOf, isAbortError } from './classify.js';
import { SourceChangedError, SourceNotFoundError } from './errors.js';

/** One version of the source blob, as seen at the start of a copy; every read is pinned to its ETag. */
export interface SourceSnapshot {
  etag: string;
  /** Bytes at that ETag (for an append blob: its committed length at that ETag). */
  length: number;
  contentMd5Base64: string | undefined;
  lastModified: Date;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  contentLanguage: string | undefined;
  contentDisposition: string | undefined;
  cacheControl: string | undefined;
  metadata: Record<string, string>;
}

function blobErrorCode(error: unknown): string | undefined {
  const details = (error as { details?: { errorCode?: unknown }; code?: unknown } | null)?.details;
  const code = details?.errorCode ?? (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function notFound(error: unknown, blob: BlobClient): unknown {
  if (httpStatusOf(error) === 404) return new SourceNotFoundError(`source blob ${blob.containerName}/${blob.name} does not exist`, { cause: error });
  return error;
}

/** The headers getProperties and a download both carry; `contentMD5` must be the whole blob's. */
interface BlobHeaders {
  etag?: string;
  lastModified?: Date;
  contentMD5?: Uint8Array;
  contentType?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

function snapshotOf(blob: BlobClient, headers: BlobHeaders, length: number | undefined): SourceSnapshot {
  if (!headers.etag || length === undefined || !headers.lastModified) {
    throw new Error(`Azure returned no ETag, length or Last-Modified for ${blob.containerName}/${blob.name}`);
  }
  return {
    etag: headers.etag,
    length,
    contentMd5Base64: headers.contentMD5 && headers.contentMD5.length > 0 ? Buffer.from(headers.contentMD5).toString('base64') : undefined,
    lastModified: headers.lastModified,
    contentType: headers.contentType,
    contentEncoding: headers.contentEncoding,
    contentLanguage: headers.contentLanguage,
    contentDisposition: headers.contentDisposition,
    cacheControl: headers.cacheControl,
    metadata: headers.metadata ?? {},
  };
}

export async function readSourceSnapshot(blob: BlobClient, abortSignal: AbortSignal | undefined): Promise<SourceSnapshot> {
  let properties;
  try {
    properties = await blob.getProperties({ abortSignal });
  } catch (error) {
    throw notFound(error, blob);
  }
  return snapshotOf(blob, properties, properties.contentLength);
}

/** The total size in a `Content-Range: bytes 0-99/1234` answer. */
function totalOfContentRange(contentRange: string | undefined): number | undefined {
  const match = /\/(\d+)$/.exec(contentRange ?? '');
  return match ? Number(match[1]) : undefined;
}

/**
 * An open ranged GET of a blob's first bytes, sent instead of getProperties followed by a GET: a ranged
 * answer carries every property getProperties does, the total length in Content-Range (for an append
 * blob, its committed length at that ETag, as getProperties reports) and the whole blob's MD5 in
 * x-ms-blob-content-md5. `count` bytes (the first min(maxCount, length)) wait in the body, for `consume`
 * or `discard`. An empty blob, which has no first byte to range over (416), falls back to getProperties
 * with nothing to consume (`count` 0, and so also if the blob grew in between).
 */
export interface FirstRange {
  snapshot: SourceSnapshot;
  count: number;
  /** Hands each chunk of the first `count` bytes to `onChunk`; an abort of `abortSignal` ends the read. */
  consume(onChunk: (chunk: Buffer) => void, abortSignal?: AbortSignal): Promise<void>;
  /** `consume` into one buffer: `into` when given (at least `count` bytes; the result is its first `count`). */
  readInto(into: Buffer | undefined, abortSignal?: AbortSignal): Promise<Buffer>;
  /** Drops the body unread (harmless once it is consumed). */
  discard(): void;
}

/** A first range with no byte in it: the blob's properties and no body. */
function nothingToRead(snapshot: SourceSnapshot): FirstRange {
  return { snapshot, count: 0, consume: () => Promise.resolve(), readInto: () => Promise.resolve(Buffer.alloc(0)), discard: () => undefined };
}

export async function openFirstRange(blob: BlobClient, maxCount: number, abortSignal: AbortSignal | undefined): Promise<FirstRange> {
  let response;
  try {
    response = await blob.download(0, maxCount, { abortSignal, maxRetryRequests: DOWNLOAD_RESUMES });
  } catch (error) {
    if (httpStatusOf(error) === 416 || blobErrorCode(error) === 'InvalidRange') {
      return nothingToRead(await readSourceSnapshot(blob, abortSignal));
    }
    throw notFound(error, blob);
  }
  const stream = response.readableStreamBody as (NodeJS.ReadableStream & { destroy(): void }) | undefined;
  if (!stream) throw new Error('Azure download returned no body stream');
  const length = totalOfContentRange(response.contentRange) ?? response.contentLength;
  // The response exposes its headers as getters, so they are picked out rather than spread.
  const headers: BlobHeaders = {
    etag: response.etag,
    lastModified: response.lastModified,
    contentMD5: response.blobContentMD5,
    contentType: response.contentType,
    contentEncoding: response.contentEncoding,
    contentLanguage: response.contentLanguage,
    contentDisposition: response.contentDisposition,
    cacheControl: response.cacheControl,
    metadata: response.metadata,
  };
  const snapshot = snapshotOf(blob, headers, length);
  const count = Math.min(maxCount, snapshot.length);
  const consume = async (onChunk: (chunk: Buffer) => void, consumeSignal?: AbortSignal) => {
    const stop = () => stream.destroy();
    consumeSignal?.addEventListener('abort', stop, { once: true });
    try {
      await consumeExactly(stream, count, 0, onChunk);
    } catch (error) {
      // The read answers to two signals: the request's and the consumer's; either one aborting is final.
      throw mapReadError(error, blob, count, 0, consumeSignal?.aborted ? consumeSignal : abortSignal);
    } finally {
      consumeSignal?.removeEventListener('abort', stop);
    }
  };
  return {
    snapshot,
    count,
    consume,
    readInto: async (into, consumeSignal) => collect(rangeBuffer(count, into), (onChunk) => consume(onChunk, consumeSignal)),
    discard: () => stream.destroy(),
  };
}

/**
 * The snapshot and, when the blob is at most `maxBodyBytes` long, its whole content, from one ranged
 * GET (openFirstRange). A larger blob's body is dropped unread (the caller copies it in ETag-pinned parts).
 */
export async function readSourceSnapshotWithSmallBody(
  blob: BlobClient,
  maxBodyBytes: number,
  abortSignal: AbortSignal | undefined,
): Promise<{ snapshot: SourceSnapshot; body: Buffer | undefined }> {
  const first = await openFirstRange(blob, maxBodyBytes, abortSignal);
  if (first.count !== first.snapshot.length) {
    first.discard();
    return { snapshot: first.snapshot, body: undefined };
  }
  return { snapshot: first.snapshot, body: await first.readInto(undefined, abortSignal) };
}

/** Maps "that version is gone" (412 ConditionNotMet on ifMatch, or 404 mid-copy) to SourceChangedError. */
export function asSourceChange(error: unknown, blob: BlobClient): unknown {
  const status = httpStatusOf(error);
  if (status === 412 || blobErrorCode(error) === 'ConditionNotMet') {
    return new SourceChangedError(`source blob ${blob.containerName}/${blob.name} changed during the copy (ETag no longer matches); retry to copy the new version`, { cause: error });
  }
  if (status === 404) {
    return new SourceChangedError(`source blob ${blob.containerName}/${blob.name} was deleted during the copy`, { cause: error });
  }
  return error;
}

/** Azure's answer held fewer (or more) bytes than asked for, after the SDK's own resumes (DOWNLOAD_RESUMES). Retryable. */
class TruncatedReadError extends Error {
  override name = 'TruncatedReadError';
}

/**
 * Reads exactly `count` bytes at `offset` of the version `etag` into one buffer: `into` when given (at
 * least `count` bytes; the result is its first `count`), else a new one. `count` must be > 0: the SDK
 * reads to the end of the blob for a count of 0.
 */
export async function readRange(
  blob: BlobClient,
  range: { offset: number; count: number; etag: string },
  abortSignal: AbortSignal | undefined,
  into?: Buffer,
): Promise<Buffer> {
  const buffer = rangeBuffer(range.count, into);
  try {
    const response = await blob.download(range.offset, range.count, { conditions: { ifMatch: range.etag }, abortSignal, maxRetryRequests: DOWNLOAD_RESUMES });
    const body = response.readableStreamBody;
    if (!body) throw new Error('Azure download returned no body stream');
    return await collect(buffer, (onChunk) => consumeExactly(body, range.count, range.offset, onChunk));
  } catch (error) {
    throw mapReadError(error, blob, range.count, range.offset, abortSignal);
  }
}

/** The first `count` bytes of `into` (a RangeError if it is shorter), or a new buffer of `count`. */
function rangeBuffer(count: number, into: Buffer | undefined): Buffer {
  if (into && into.length < count) throw new RangeError(`a ${into.length}-byte buffer cannot hold a ${count}-byte range`);
  return into?.subarray(0, count) ?? Buffer.allocUnsafe(count);
}

/** The bytes that `consume` hands over, gathered into `buffer` in order. */
async function collect(buffer: Buffer, consume: (onChunk: (chunk: Buffer) => void) => Promise<void>): Promise<Buffer> {
  let filled = 0;
  await consume((chunk) => {
    chunk.copy(buffer, filled);
    filled += chunk.length;
  });
  return buffer;
}

/** Hands each chunk of a range's body to `onChunk` as it arrives; fails unless exactly `count` bytes came. */
async function consumeExactly(body: NodeJS.ReadableStream, count: number, offset: number, onChunk: (chunk: Buffer) => void): Promise<void> {
  let received = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (received + chunk.length > count) throw new TruncatedReadError(`Azure returned more than the ${count} bytes asked for`);
    onChunk(chunk);
    received += chunk.length;
  }
  if (received !== count) throw new TruncatedReadError(`Azure returned ${received} of ${count} bytes at offset ${offset}`);
}

/**
 * `readRange` without assembling the range: each chunk goes to `onChunk` as it arrives (a digest that
 * needs no contiguous copy of the bytes). Same ETag pinning, resumes and errors as readRange.
 */
export async function streamRange(
  blob: BlobClient,
  range: { offset: number; count: number; etag: string },
  abortSignal: AbortSignal | undefined,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  try {
    const response = await blob.download(range.offset, range.count, { conditions: { ifMatch: range.etag }, abortSignal, maxRetryRequests: DOWNLOAD_RESUMES });
    const body = response.readableStreamBody;
    if (!body) throw new Error('Azure download returned no body stream');
    await consumeExactly(body, range.count, range.offset, onChunk);
  } catch (error) {
    throw mapReadError(error, blob, range.count, range.offset, abortSignal);
  }
}

function mapReadError(error: unknown, blob: BlobClient, count: number, offset: number, abortSignal: AbortSignal | undefined): unknown {
  // The SDK reports a connection dropped mid-body as an AbortError even though nobody aborted;
  // only the caller's own signal makes an abort final.
  if (isAbortError(error) && !abortSignal?.aborted) return new TruncatedReadError(`download of ${count} bytes at offset ${offset} was cut off`, { cause: error });
  return asSourceChange(error, blob);
}
