import type { BlobClient } from '@azure/storage-blob';
import { SourceChangedError, SourceNotFoundError } from './errors.js';
import { httpStatusOf, isAbortError } from './retry.js';

/** One version of the source blob, as seen at the start of a copy; every read is pinned to its ETag. */
export interface SourceSnapshot {
  etag: string;
  /** Bytes at that ETag (for an append blob: its committed length at that ETag). */
  length: number;
  contentMd5Base64: string | undefined;
  lastModified: Date;
  blobType: string | undefined;
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

export async function readSourceSnapshot(blob: BlobClient, abortSignal: AbortSignal | undefined): Promise<SourceSnapshot> {
  let properties;
  try {
    properties = await blob.getProperties({ abortSignal });
  } catch (error) {
    if (httpStatusOf(error) === 404) throw new SourceNotFoundError(`source blob ${blob.containerName}/${blob.name} does not exist`, { cause: error });
    throw error;
  }
  if (!properties.etag || properties.contentLength === undefined || !properties.lastModified) {
    throw new Error(`Azure returned no ETag, length or Last-Modified for ${blob.containerName}/${blob.name}`);
  }
  return {
    etag: properties.etag,
    length: properties.contentLength,
    contentMd5Base64: properties.contentMD5 && properties.contentMD5.length > 0 ? Buffer.from(properties.contentMD5).toString('base64') : undefined,
    lastModified: properties.lastModified,
    blobType: properties.blobType,
    contentType: properties.contentType,
    contentEncoding: properties.contentEncoding,
    contentLanguage: properties.contentLanguage,
    contentDisposition: properties.contentDisposition,
    cacheControl: properties.cacheControl,
    metadata: properties.metadata ?? {},
  };
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

class TruncatedReadError extends Error {
  override name = 'TruncatedReadError';
  readonly code = 'TruncatedRead';
}

/**
 * Reads exactly `count` bytes at `offset` of the version `etag` into one buffer. `count` must be > 0:
 * the SDK reads to the end of the blob for a count of 0.
 */
export async function readRange(
  blob: BlobClient,
  range: { offset: number; count: number; etag: string },
  abortSignal: AbortSignal | undefined,
): Promise<Buffer> {
  try {
    const response = await blob.download(range.offset, range.count, { conditions: { ifMatch: range.etag }, abortSignal, maxRetryRequests: 3 });
    const body = response.readableStreamBody;
    if (!body) throw new Error('Azure download returned no body stream');
    const buffer = Buffer.allocUnsafe(range.count);
    let filled = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (filled + chunk.length > range.count) throw new TruncatedReadError(`Azure returned more than the ${range.count} bytes asked for`);
      chunk.copy(buffer, filled);
      filled += chunk.length;
    }
    if (filled !== range.count) throw new TruncatedReadError(`Azure returned ${filled} of ${range.count} bytes at offset ${range.offset}`);
    return buffer;
  } catch (error) {
    // The SDK reports a connection dropped mid-body as an AbortError even though nobody aborted;
    // only the caller's own signal makes an abort final.
    if (isAbortError(error) && !abortSignal?.aborted) throw new TruncatedReadError(`download of ${range.count} bytes at offset ${range.offset} was cut off`, { cause: error });
    throw asSourceChange(error, blob);
  }
}
