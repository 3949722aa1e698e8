import { STATUS_CODES } from 'node:http';
import { failureKind, httpStatusOf, isAbortError } from '@blobferry/retry-policy';
import { SourceChangedError, SourceNotFoundError } from '@blobferry/transfer';

// A failed request either concerns one object (the service answered and refused it or lacked it, or the
// blob changed under the run): that object becomes an `error` difference and the run goes on, as rclone
// check does. Or it concerns the run (a listing, or a service that stopped answering): the run stops
// with a ReconcileRequestError, since every later request would fail the same way.

export type Service = 'azure' | 's3';
export type Operation = 'list' | 'head' | 'digest' | 'tags';

/** Why one object could not be classified. */
export interface ObjectError {
  service: Service;
  operation: Operation;
  /** The HTTP status the service answered, when it answered. */
  status: number | undefined;
  reason: string;
}

const SERVICE_NAMES: Record<Service, string> = { azure: 'Azure', s3: 'S3' };
const OPERATION_NAMES: Record<Operation, string> = { list: 'listing', head: 'HEAD', digest: 'content read', tags: 'tag read' };

function labelOf(service: Service, operation: Operation): string {
  return `${SERVICE_NAMES[service]} ${OPERATION_NAMES[operation]}`;
}

/** A request the run depends on failed; the run stopped. `cause` is the SDK's error. */
export class ReconcileRequestError extends Error {
  override readonly name = 'ReconcileRequestError';
  constructor(
    readonly service: Service,
    readonly operation: Operation,
    /** What was being read (never with a SAS or key in it). */
    readonly subject: string,
    options: { cause: unknown },
  ) {
    super(`${labelOf(service, operation)} of ${subject} failed: ${messageOf(options.cause)}`, options);
  }
}

/** Carries an object's failure from the request to the classification; never leaves this library. */
export class ObjectRequestFailed extends Error {
  override readonly name = 'ObjectRequestFailed';
  constructor(readonly detail: ObjectError) {
    super(detail.reason);
  }
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}

function messageOf(error: unknown): string {
  const { message, code } = (error ?? {}) as { message?: unknown; code?: unknown };
  const text = typeof message === 'string' && message !== '' ? firstLine(message) : String(error);
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}

/**
 * About this one object (in @blobferry/retry-policy's terms): `denied` (403 on one key), `permanent`
 * (404 for an object deleted mid-run), `conflict`, any other 4xx answer, and a blob that changed or
 * vanished while it was read. About the service, and so the run: `transient` (no answer at all: the
 * endpoint is unreachable; 5xx, timeouts) and `throttled`, both after the SDK's retries, and anything
 * without an answer.
 */
export function isObjectFailure(error: unknown): boolean {
  if (error instanceof SourceNotFoundError || error instanceof SourceChangedError) return true;
  switch (failureKind(error)) {
    case 'denied':
    case 'permanent':
    case 'conflict':
      return true;
    case 'unknown': {
      const status = httpStatusOf(error);
      return status !== undefined && status >= 400 && status < 500;
    }
    default:
      return false;
  }
}

// What SDKs name an error when the answer had no body to name it (a refused HEAD).
const PLACEHOLDER_NAMES = new Set(['Error', 'RestError', 'Unknown', 'UnknownError']);

function statusOf(error: unknown): number | undefined {
  return httpStatusOf(error) ?? httpStatusOf((error as { cause?: unknown } | null)?.cause);
}

function reasonOf(service: Service, operation: Operation, error: unknown): string {
  const label = labelOf(service, operation);
  if (error instanceof SourceNotFoundError) return `${label}: the blob was deleted during the run`;
  if (error instanceof SourceChangedError) return `${label}: the blob changed during the run (${messageOf(error)})`;
  const status = statusOf(error);
  const shape = (error ?? {}) as { name?: unknown; code?: unknown; message?: unknown };
  const named = [shape.code, shape.name].find(
    (value): value is string => typeof value === 'string' && value !== '' && !PLACEHOLDER_NAMES.has(value) && !/^\d+$/.test(value),
  );
  const code = named ?? (status === undefined ? undefined : STATUS_CODES[status]);
  const message = typeof shape.message === 'string' ? firstLine(shape.message) : '';
  const detail = message && message !== code && !PLACEHOLDER_NAMES.has(message) ? `: ${message}` : '';
  return `${label} answered ${status ?? 'an error'}${code ? ` ${code}` : ''}${detail}`;
}

/**
 * Runs one request of the run: an object's failure becomes ObjectRequestFailed, anything else a
 * ReconcileRequestError naming what was being read (aborts pass through as they are).
 */
export async function requestFor<T>(service: Service, operation: Operation, subject: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw failureOf(service, operation, subject, error, operation !== 'list');
  }
}

function failureOf(service: Service, operation: Operation, subject: string, error: unknown, objectLevel: boolean): unknown {
  if (isAbortError(error) || error instanceof ReconcileRequestError) return error;
  if (objectLevel && isObjectFailure(error)) {
    return new ObjectRequestFailed({ service, operation, status: statusOf(error), reason: reasonOf(service, operation, error) });
  }
  return new ReconcileRequestError(service, operation, subject, { cause: error });
}

/** A listing stream whose failures stop the run, naming the listing. */
export async function* listingFor<T>(service: Service, subject: string, items: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* items;
  } catch (error) {
    throw failureOf(service, 'list', subject, error, false);
  }
}
