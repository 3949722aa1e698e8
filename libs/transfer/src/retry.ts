import { SourceChangedError, TargetChangedError, PermanentTransferError } from './errors.js';

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: unknown;
}

const transientNetworkCodes = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'ENETUNREACH',
  'EHOSTUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'REQUEST_SEND_ERROR', 'TruncatedRead',
]);
const transientS3Names = new Set([
  'SlowDown', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'Throttling', 'ThrottlingException',
  'RequestTimeTooSkewed', 'TimeoutError', 'OperationAborted',
]);

/** HTTP status of an Azure RestError or an AWS SDK service exception, when there is one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as ErrorShape;
  const status = shape.$metadata?.httpStatusCode ?? shape.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as ErrorShape).name === 'AbortError';
}

/**
 * A failure worth repeating the same request for, right now, a few times: 5xx, 408/429, throttling,
 * timeouts and connection resets. (Not the same as `isRetryable`, which is the caller's whole-copy decision.)
 */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || isAbortError(error)) return false;
  const shape = error as ErrorShape;
  const status = httpStatusOf(error);
  if (status !== undefined && (status >= 500 || status === 408 || status === 429)) return true;
  if (typeof shape.name === 'string' && transientS3Names.has(shape.name)) return true;
  if (typeof shape.code === 'string' && transientNetworkCodes.has(shape.code)) return true;
  if (shape.$retryable) return true;
  // A socket torn down before any HTTP status arrived: the Azure SDK reports it as a status-less RestError.
  return status === undefined && shape.name === 'RestError';
}

/**
 * Whether a failed copy is worth trying again later (for example by letting Event Grid redeliver).
 * false: permanent input problems (PermanentTransferError and subclasses), an abort the caller asked
 * for, and S3/Azure client errors that a retry repeats verbatim (400, 404, 405, 411, 413, 414).
 * true: SourceChangedError, TargetChangedError, transient failures, 401/403 (credentials and role
 * policies are often fixed or refreshed in the meantime), and anything unrecognised (a retry that ends
 * in dead-lettering is safer than silently dropping a backup).
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentTransferError) return false;
  if (error instanceof SourceChangedError || error instanceof TargetChangedError) return true;
  if (isAbortError(error)) return false;
  const status = httpStatusOf(error);
  return !(status !== undefined && [400, 404, 405, 411, 413, 414].includes(status));
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 8_000 };

function sleep(ms: number, abortSignal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (abortSignal?.aborted) return reject(abortSignal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortSignal?.reason);
    };
    const timer = setTimeout(() => {
      abortSignal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    abortSignal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `operation` until it succeeds, fails with a non-transient error, or attempts run out.
 * Exponential backoff with full jitter, so parts that failed together do not retry in lockstep.
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  options: { abortSignal?: AbortSignal; policy?: RetryPolicy } = {},
): Promise<T> {
  const policy = options.policy ?? defaultRetryPolicy;
  for (let attempt = 1; ; attempt++) {
    options.abortSignal?.throwIfAborted();
    try {
      return await operation();
    } catch (error) {
      if (attempt >= policy.maxAttempts || !isTransient(error) || options.abortSignal?.aborted) throw error;
      const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
      await sleep(Math.random() * ceiling, options.abortSignal);
    }
  }
}
