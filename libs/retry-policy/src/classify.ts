// The one classification of a failed request, for the decisions the SDKs cannot make for us: whether a
// whole operation is worth trying again later, whether a conditional write lost a race, what to tell the
// user. (Whether one request is tried again right away is the SDK's call, configured in policy.ts.)

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  statusCode?: unknown;
  details?: { errorCode?: unknown };
  $metadata?: { httpStatusCode?: unknown };
  $retryable?: { throttling?: boolean };
}

/**
 * - `aborted`: the caller's abort signal fired; never retry.
 * - `throttled`: the service asked us to slow down (429, SlowDown, Throttling, ServerBusy, ...).
 * - `transient`: a 5xx, a timeout, or no HTTP answer at all (connection refused, reset, DNS).
 * - `conflict`: a conditional request lost (412, 409): re-read the state, then decide.
 * - `denied`: 401/403; credentials or policies, which are often refreshed or fixed meanwhile.
 * - `permanent`: a client error that a retry repeats verbatim (400, 404, 405, 411, 413, 414).
 * - `unknown`: anything else.
 */
export type FailureKind = 'aborted' | 'throttled' | 'transient' | 'conflict' | 'denied' | 'permanent' | 'unknown';

/** Error names and codes of throttling, AWS's and Azure Storage's. */
const THROTTLING_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'BandwidthLimitExceeded',
  'ServerBusy',
]);
/** Error names of answers that are transient although their status says otherwise (400, 403, 409). */
const TRANSIENT_NAMES = new Set([
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'RequestTimeTooSkewed',
  'OperationAborted',
  'InternalError',
  'ServiceUnavailable',
  'OperationTimedOut',
]);
/** Node's and undici's codes for a request that got no HTTP answer. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);
const CONFLICT_NAMES = new Set(['PreconditionFailed', 'ConditionalRequestConflict', 'ConditionNotMet']);
const PERMANENT_STATUSES = new Set([400, 404, 405, 411, 413, 414]);

/** HTTP status of an AWS SDK service exception or an Azure RestError, when there is one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as ErrorShape;
  const status = shape.$metadata?.httpStatusCode ?? shape.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as ErrorShape).name === 'AbortError';
}

/** The service's own error code: an AWS exception's name, an Azure RestError's `code` / `details.errorCode`. */
function serviceCodesOf(shape: ErrorShape): string[] {
  return [shape.name, shape.code, shape.details?.errorCode].filter((value): value is string => typeof value === 'string');
}

export function failureKind(error: unknown): FailureKind {
  if (typeof error !== 'object' || error === null) return 'unknown';
  if (isAbortError(error)) return 'aborted';
  const shape = error as ErrorShape;
  const codes = serviceCodesOf(shape);
  const status = httpStatusOf(error);
  if (status === 429 || codes.some((code) => THROTTLING_NAMES.has(code)) || shape.$retryable?.throttling) return 'throttled';
  if (codes.some((code) => TRANSIENT_NAMES.has(code)) || shape.$retryable) return 'transient';
  if (status === undefined) {
    // No HTTP answer: the Azure SDK reports a torn-down socket as a status-less RestError.
    return codes.some((code) => NETWORK_ERROR_CODES.has(code)) || shape.name === 'RestError' ? 'transient' : 'unknown';
  }
  if (status >= 500 || status === 408) return 'transient';
  if (status === 412 || status === 409 || codes.some((code) => CONFLICT_NAMES.has(code))) return 'conflict';
  if (status === 401 || status === 403) return 'denied';
  if (PERMANENT_STATUSES.has(status)) return 'permanent';
  return 'unknown';
}
