// What a failed copy means for its caller. Built on @blobferry/retry-policy's failureKind, the one
// classification of request failures; the SDKs have already retried each request (S3_RETRY,
// AZURE_STORAGE_RETRY) by the time a failure gets here.
import { failureKind, httpStatusOf, isAbortError } from '@blobferry/retry-policy';
import { PermanentTransferError, SourceChangedError, TargetChangedError } from './errors.js';

export { httpStatusOf, isAbortError };

/**
 * Whether a failed copy is worth trying again later (by letting the queue redeliver its message).
 * false: permanent input problems (PermanentTransferError and subclasses), an abort the caller asked
 * for, and S3/Azure client errors that a retry repeats verbatim (400, 404, 405, 411, 413, 414).
 * true: SourceChangedError, TargetChangedError, throttling and transient failures, 401/403 (credentials
 * and role policies are often fixed or refreshed in the meantime), and anything unrecognised (a retry
 * that ends in the poison queue is safer than silently dropping a backup).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentTransferError) return false;
  if (error instanceof SourceChangedError || error instanceof TargetChangedError) return true;
  const kind = failureKind(error);
  return kind !== 'aborted' && kind !== 'permanent';
}

/** A conditional write (If-Match / If-None-Match) lost to another writer between our check and our write. */
export function isConditionalWriteConflict(error: unknown): boolean {
  // 404 NoSuchKey: an If-Match write whose object was deleted meanwhile.
  return failureKind(error) === 'conflict' || (error as { name?: unknown } | null)?.name === 'NoSuchKey';
}
