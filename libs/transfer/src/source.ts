import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { BlobClient } from '@azure/storage-blob';
import { DOWNLOAD_RESUMES } from '@blobferry/retry-policy';
import { httpStatusOf, isAbortError } from './classify.js';
import { SourceChangedError, SourceNotFoundError } from './errors.js';

export type BlobType = 'BlockBlob' | 'AppendBlob' | 'PageBlob';

/** One version of the source blob, as seen at the start of a copy; every read is tied to it (`pinOf`). */
export interface SourceSnapshot {
  etag: string;
  /** Bytes at that ETag (for an append blob: its committed length at that ETag). */
  length: number;
  blobType: BlobType | undefined;
  /** x-ms-creation-time: a blob deleted and created again (or replaced by Put Blob) has a new one. */
  createdOn: Date | undefined;
  /** The access tier, when the service reported it (Get Blob does from service version 2026-10-06). */
  accessTier: string | undefined;
  /** Whether `accessTier` is what the service says (undefined then: the blob has none), or was not reported. */
  accessTierKnown: boolean;
  /** x-ms-tag-count: how many index tags the blob has (0 when the header is absent). */
  tagCount: number;
  contentMd5Base64: string | undefined;
  lastModified: Date;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  contentLanguage: string | undefined;
  contentDisposition: string | undefined;
  cacheControl: string | undefined;
  metadata: Record<string, string>;
}

const BLOB_TYPES: readonly BlobType[] = ['BlockBlob', 'AppendBlob', 'PageBlob'];

/**
 * How every read of one copy is tied to the version its snapshot saw. A block or page blob is pinned to
 * its ETag (If-Match): any change fails the read. An append blob changes its ETag with every append, but
 * its bytes below the committed length never change while it stays that append blob, so its reads are
 * pinned to its creation time and type instead (a blob replaced meanwhile has a new creation time), and to
 * a length that never shrinks.
 */
export type VersionPin = { etag: string } | { appendBlob: { etag: string; createdOn: Date; length: number } };

export function pinOf(snapshot: SourceSnapshot): VersionPin {
  if (snapshot.blobType === 'AppendBlob' && snapshot.createdOn)
    return { appendBlob: { etag: snapshot.etag, createdOn: snapshot.createdOn, length: snapshot.length } };
  return { etag: snapshot.etag };
}

/** A range of the version `pin` ties the reads to. */
export interface PinnedRange {
  offset: number;
  count: number;
  pin: VersionPin;
}

function blobErrorCode(error: unknown): string | undefined {
  const details = (error as { details?: { errorCode?: unknown }; code?: unknown } | null)?.details;
  const code = details?.errorCode ?? (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Azure answers 409 BlobArchived to a read of a blob in the Archive tier (or being rehydrated from it). */
export function isBlobArchived(error: unknown): boolean {
  return httpStatusOf(error) === 409 && blobErrorCode(error) === 'BlobArchived';
}

function notFound(error: unknown, blob: BlobClient): unknown {
  if (httpStatusOf(error) === 404)
    return new SourceNotFoundError(`source blob ${blob.containerName}/${blob.name} does not exist`, { cause: error });
  return error;
}

/** The headers getProperties and a download both carry; `contentMD5` must be the whole blob's. */
interface BlobHeaders {
  etag?: string;
  lastModified?: Date;
  blobType?: string;
  createdOn?: Date;
  accessTier?: string;
  tagCount?: number;
  contentMD5?: Uint8Array;
  contentType?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  cacheControl?: string;
  metadata?: Record<string, string>;
}

function snapshotOf(blob: BlobClient, headers: BlobHeaders, length: number | undefined, accessTierKnown: boolean): SourceSnapshot {
  if (!headers.etag || length === undefined || !headers.lastModified) {
    throw new Error(`Azure returned no ETag, length or Last-Modified for ${blob.containerName}/${blob.name}`);
  }
  const blobType = BLOB_TYPES.find((type) => type === headers.blobType);
  return {
    etag: headers.etag,
    length,
    blobType,
    createdOn: headers.createdOn,
    accessTier: headers.accessTier,
    accessTierKnown: accessTierKnown || headers.accessTier !== undefined,
    tagCount: headers.tagCount ?? 0,
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
  return snapshotOf(blob, properties, properties.contentLength, true);
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
  return {
    snapshot,
    count: 0,
    consume: () => Promise.resolve(),
    readInto: () => Promise.resolve(Buffer.alloc(0)),
    discard: () => undefined,
  };
}

export async function openFirstRange(blob: BlobClient, maxCount: number, abortSignal: AbortSignal | undefined): Promise<FirstRange> {
  let response;
  try {
    response = await blob.download(0, maxCount, { abortSignal, maxRetryRequests: 0 });
  } catch (error) {
    if (httpStatusOf(error) === 416 || blobErrorCode(error) === 'InvalidRange') {
      return nothingToRead(await readSourceSnapshot(blob, abortSignal));
    }
    throw notFound(error, blob);
  }
  const body = response.readableStreamBody as Readable | undefined;
  if (!body) throw new Error('Azure download returned no body stream');
  const length = totalOfContentRange(response.contentRange) ?? response.contentLength;
  // The response exposes its headers as getters, so they are picked out rather than spread.
  const headers: BlobHeaders = {
    etag: response.etag,
    lastModified: response.lastModified,
    blobType: response.blobType,
    createdOn: response.createdOn,
    accessTier: response.accessTier,
    tagCount: response.tagCount,
    contentMD5: response.blobContentMD5,
    contentType: response.contentType,
    contentEncoding: response.contentEncoding,
    contentLanguage: response.contentLanguage,
    contentDisposition: response.contentDisposition,
    cacheControl: response.cacheControl,
    metadata: response.metadata,
  };
  const reportsTier = response.version !== undefined && response.version >= GET_BLOB_REPORTS_TIER;
  const snapshot = snapshotOf(blob, headers, length, reportsTier);
  const count = Math.min(maxCount, snapshot.length);
  const range = { offset: 0, count, pin: pinOf(snapshot) };
  // The read answers to two signals, the request's and the consumer's; either one aborting is final.
  const consume = (onChunk: (chunk: Buffer) => void, consumeSignal?: AbortSignal) =>
    streamPinned(
      blob,
      range,
      abortSignal && consumeSignal ? AbortSignal.any([abortSignal, consumeSignal]) : (consumeSignal ?? abortSignal),
      onChunk,
      body,
    );
  return {
    snapshot,
    count,
    consume,
    readInto: async (into, consumeSignal) => collect(rangeBuffer(count, into), (onChunk) => consume(onChunk, consumeSignal)),
    discard: () => body.destroy(),
  };
}

/** The first service version whose Get Blob answers carry the access tier (x-ms-access-tier). */
const GET_BLOB_REPORTS_TIER = '2026-10-06';

/**
 * The snapshot with its access tier. Get Blob reports it from service version 2026-10-06 on (absent
 * then means the blob has none, as page and append blobs on standard accounts); an older service
 * (Azurite 3.36 answers 2025-11-05) is asked with getProperties, pinned to the snapshot's ETag.
 */
export async function withAccessTier(
  blob: BlobClient,
  snapshot: SourceSnapshot,
  abortSignal: AbortSignal | undefined,
): Promise<SourceSnapshot> {
  if (snapshot.accessTierKnown) return snapshot;
  try {
    const properties = await blob.getProperties({ abortSignal, conditions: pinConditions(pinOf(snapshot)) });
    return { ...snapshot, accessTier: properties.accessTier, accessTierKnown: true };
  } catch (error) {
    throw asSourceChange(error, blob);
  }
}

/** The request condition of a pin: If-Match for an ETag pin; none for an append blob (checked on the answer). */
function pinConditions(pin: VersionPin): { ifMatch?: string } {
  return 'etag' in pin ? { ifMatch: pin.etag } : {};
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
    return new SourceChangedError(
      `source blob ${blob.containerName}/${blob.name} changed during the copy (ETag no longer matches); retry to copy the new version`,
      { cause: error },
    );
  }
  if (status === 404) {
    return new SourceChangedError(`source blob ${blob.containerName}/${blob.name} was deleted during the copy`, { cause: error });
  }
  return error;
}

/** Azure's answer held fewer (or more) bytes than asked for, after every resume (DOWNLOAD_RESUMES). Retryable. */
class TruncatedReadError extends Error {
  override name = 'TruncatedReadError';
}

/** A body that broke off before its last byte: the rest can be asked for with another GET. */
class CutOffError extends Error {
  override name = 'CutOffError';
}

/**
 * Reads exactly `count` bytes at `offset` of the version `etag` into one buffer: `into` when given (at
 * least `count` bytes; the result is its first `count`), else a new one. `count` must be > 0: the SDK
 * reads to the end of the blob for a count of 0.
 */
export async function readRange(
  blob: BlobClient,
  range: PinnedRange,
  abortSignal: AbortSignal | undefined,
  into?: Buffer,
): Promise<Buffer> {
  return collect(rangeBuffer(range.count, into), (onChunk) => streamPinned(blob, range, abortSignal, onChunk));
}

/**
 * `readRange` without assembling the range: each chunk goes to `onChunk` as it arrives (a digest that
 * needs no contiguous copy of the bytes). Same ETag pinning, resumes and errors as readRange.
 */
export async function streamRange(
  blob: BlobClient,
  range: PinnedRange,
  abortSignal: AbortSignal | undefined,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  return streamPinned(blob, range, abortSignal, onChunk);
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

/**
 * Streams `range` of the version `range.etag` to `onChunk`: from `firstBody` when the caller already
 * holds that answer's body (openFirstRange), else from a new GET. A body that breaks off is resumed where
 * it stopped, with a GET for the rest pinned to the same ETag, at most DOWNLOAD_RESUMES times. The SDK's
 * own resume (`maxRetryRequests`, left at 0) gives up on a dropped connection, which Node reports as
 * 'aborted' and the SDK as an AbortError (Azure/azure-sdk-for-js#32268).
 */
async function streamPinned(
  blob: BlobClient,
  range: PinnedRange,
  abortSignal: AbortSignal | undefined,
  onChunk: (chunk: Buffer) => void,
  firstBody?: Readable,
): Promise<void> {
  let received = 0;
  const counted = (chunk: Buffer) => {
    onChunk(chunk);
    received += chunk.length;
  };
  for (let resumes = 0; ; resumes++) {
    const rest = { offset: range.offset + received, count: range.count - received };
    let body = resumes === 0 ? firstBody : undefined;
    try {
      body ??= await openBody(blob, { ...rest, pin: range.pin }, abortSignal);
      await consumeExactly(body, rest.count, counted, abortSignal);
      return;
    } catch (error) {
      const cause = readFailure(error, abortSignal);
      if (!(cause instanceof CutOffError)) throw asSourceChange(cause, blob);
      if (resumes >= DOWNLOAD_RESUMES) {
        throw new TruncatedReadError(
          `download of ${range.count} bytes at offset ${range.offset} of ${blob.containerName}/${blob.name} broke off ${resumes + 1} times (last at byte ${range.offset + received})`,
          { cause },
        );
      }
    } finally {
      body?.destroy();
    }
  }
}

async function openBody(blob: BlobClient, range: PinnedRange, abortSignal: AbortSignal | undefined): Promise<Readable> {
  const response = await blob.download(range.offset, range.count, {
    conditions: pinConditions(range.pin),
    abortSignal,
    maxRetryRequests: 0,
  });
  const body = response.readableStreamBody as Readable | undefined;
  if (!body) throw new Error('Azure download returned no body stream');
  if ('appendBlob' in range.pin) {
    const appendBlob = range.pin.appendBlob;
    const total = totalOfContentRange(response.contentRange) ?? 0;
    if (
      response.blobType !== 'AppendBlob' ||
      response.createdOn?.getTime() !== appendBlob.createdOn.getTime() ||
      total < appendBlob.length
    ) {
      body.destroy();
      throw new SourceChangedError(
        `source blob ${blob.containerName}/${blob.name} was replaced during the copy (another creation time, blob type or a shorter length than the ${appendBlob.length} committed bytes being copied); retry to copy the new blob`,
      );
    }
  }
  return body;
}

/**
 * Hands each chunk of a body to `onChunk` as it arrives; a CutOffError when it ends short, a
 * TruncatedReadError when it holds more than `count` bytes. A 'data' listener, not `for await`: the
 * SDK's RetriableReadableStream pauses and resumes its source around every chunk it buffers for an async
 * iterator, which costs CPU on every chunk.
 */
async function consumeExactly(
  body: Readable,
  count: number,
  onChunk: (chunk: Buffer) => void,
  abortSignal: AbortSignal | undefined,
): Promise<void> {
  let received = 0;
  const stop = () => body.destroy();
  if (abortSignal?.aborted) stop();
  else abortSignal?.addEventListener('abort', stop, { once: true });
  body.on('data', (chunk: Buffer) => {
    try {
      if (received + chunk.length > count) throw new TruncatedReadError(`Azure returned more than the ${count} bytes asked for`);
      onChunk(chunk);
      received += chunk.length;
    } catch (error) {
      // `finished` rejects with the error the stream is destroyed with.
      body.destroy(error as Error);
    }
  });
  try {
    await finished(body);
  } finally {
    abortSignal?.removeEventListener('abort', stop);
  }
  if (received !== count) throw new CutOffError(`Azure's answer ended after ${received} of ${count} bytes`);
}

/**
 * What a failed read means: a CutOffError for a body that broke off (resumable), else the error itself.
 * The SDK reports a dropped connection mid-body as an AbortError even though nobody aborted, and a body
 * that ended short as a plain "Data corruption failure"; only the caller's own signal makes an abort final.
 */
function readFailure(error: unknown, abortSignal: AbortSignal | undefined): unknown {
  if (abortSignal?.aborted) return error;
  if (isAbortError(error) || (error as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE')
    return new CutOffError('the connection dropped mid-body', { cause: error });
  if (error instanceof Error && error.message.startsWith('Data corruption failure: received less data'))
    return new CutOffError(error.message, { cause: error });
  return error;
}
