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
 * The snapshot and, when the blob is at most `maxBodyBytes` long, its whole content, from one ranged
 * GET of the first `maxBodyBytes` instead of getProperties followed by a GET: a ranged answer carries
 * every property getProperties does, the total length in Content-Range (for an append blob, its
 * committed length at that ETag, as getProperties reports) and the whole blob's MD5 in
 * x-ms-blob-content-md5. A larger blob's body is dropped unread (the caller copies it in ETag-pinned
 * parts); an empty blob, which has no first byte to range over (416), falls back to getProperties.
 */
export async function readSourceSnapshotWithSmallBody(
  blob: BlobClient,
  maxBodyBytes: number,
  abortSignal: AbortSignal | undefined,
): Promise<{ snapshot: SourceSnapshot; body: Buffer | undefined }> {
  let response;
  try {
    response = await blob.download(0, maxBodyBytes, { abortSignal, maxRetryRequests: DOWNLOAD_RESUMES });
  } catch (error) {
    if (httpStatusOf(error) === 416 || blobErrorCode(error) === 'InvalidRange') {
      const snapshot = await readSourceSnapshot(blob, abortSignal);
      return { snapshot, body: snapshot.length === 0 ? Buffer.alloc(0) : undefined };
    }
    throw notFound(error, blob);
  }
  const stream = response.readableStreamBody;
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
  if (snapshot.length > maxBodyBytes) {
    (stream as NodeJS.ReadableStream & { destroy(): void }).destroy();
    return { snapshot, body: undefined };
  }
  try {
    return { snapshot, body: await readExactly(stream, snapshot.length, 0) };
  } catch (error) {
    throw mapReadError(error, blob, snapshot.length, 0, abortSignal);
  }
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
  if (into && into.length < range.count) throw new RangeError(`a ${into.length}-byte buffer cannot hold a ${range.count}-byte range`);
  try {
    const response = await blob.download(range.offset, range.count, { conditions: { ifMatch: range.etag }, abortSignal, maxRetryRequests: DOWNLOAD_RESUMES });
    const body = response.readableStreamBody;
    if (!body) throw new Error('Azure download returned no body stream');
    return await readExactly(body, range.count, range.offset, into?.subarray(0, range.count));
  } catch (error) {
    throw mapReadError(error, blob, range.count, range.offset, abortSignal);
  }
}

async function readExactly(body: NodeJS.ReadableStream, count: number, offset: number, into?: Buffer): Promise<Buffer> {
  const buffer = into ?? Buffer.allocUnsafe(count);
  let filled = 0;
  await consumeExactly(body, count, offset, (chunk) => {
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
