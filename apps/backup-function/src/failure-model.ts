import type { Dependency } from '@blobferry/contract';
import { FederatedCredentialsError } from '@blobferry/federated-credentials';
import { failureKind, httpStatusOf } from '@blobferry/retry-policy';
import { PermanentTransferError, SourceChangedError, UnsafeDeleteError } from '@blobferry/transfer';
import { SourceAccountMismatchError } from './clients.js';
import { FailureRecordError } from './state/failure-records.js';

// One failure model for a message (README "Failures"):
// - permanent: a fact about this blob or event that another attempt reads again (the blob is gone, its key
//   is over S3's 1,024 bytes, it is archived, its bytes contradict its Content-MD5, ...). Recorded, dropped.
// - transient: S3, STS or the source unreachable, throttled, 5xx or denied, or the blob or its backup changed
//   mid-copy, or a permanent failure's record could not be written. Put back into the queue with a growing
//   delay, for as long as the message lives.
// - unclassified: anything else (a 4xx that no rule explains, a bug). Thrown: the runtime tries it again
//   and then moves it to the poison queue, whose alert pages a person.

export type FailureClass =
  | { rule: 'permanent' }
  | {
      rule: 'transient';
      /** The service that failed, when the failure says which: health reports it as failing since then. */
      dependency: Dependency | undefined;
      cause: string;
    }
  | { rule: 'unclassified'; cause: string };

interface ErrorFields {
  name?: unknown;
  code?: unknown;
  errors?: unknown;
  cause?: unknown;
  details?: { errorCode?: unknown };
  $metadata?: unknown;
}

/** Node's codes for a request that got no HTTP answer, in words an operator reads at a glance. */
const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'timed out',
  ESOCKETTIMEDOUT: 'timed out',
  EAI_AGAIN: 'DNS lookup failed',
  ENOTFOUND: 'DNS lookup failed',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
};

const DEPENDENCY_NAMES: Record<Dependency, string> = { s3: 'S3', sts: 'STS', source: 'source' };

function fieldsOf(error: unknown): ErrorFields {
  return typeof error === 'object' && error !== null ? (error as ErrorFields) : {};
}

/** The network code of an error, or of the first of an AggregateError's (a connect attempt per address). */
function networkCodeOf(error: unknown): string | undefined {
  const fields = fieldsOf(error);
  if (typeof fields.code === 'string' && fields.code in NETWORK_CAUSES) return fields.code;
  if (Array.isArray(fields.errors)) return networkCodeOf(fields.errors[0]);
  // The Azure SDK wraps a refused connection in a RestError whose code is REQUEST_SEND_ERROR.
  const message = error instanceof Error ? error.message : '';
  return Object.keys(NETWORK_CAUSES).find((code) => message.includes(code));
}

/** The service's own error code: an AWS exception's name, an Azure RestError's `details.errorCode` or `code`. */
function serviceCodeOf(error: unknown): string | undefined {
  const fields = fieldsOf(error);
  const candidates = [fields.details?.errorCode, fields.name, fields.code];
  return candidates.find((value): value is string => typeof value === 'string' && value !== 'Error' && value !== 'RestError');
}

/** What went wrong, in the words an operator searches for: `connection refused (ECONNREFUSED)`, `503 SlowDown`, `AccessDenied`. */
export function causeOf(error: unknown): string {
  if (error instanceof FederatedCredentialsError) return error.code;
  const network = networkCodeOf(error);
  if (network && httpStatusOf(error) === undefined) return `${NETWORK_CAUSES[network]} (${network})`;
  const status = httpStatusOf(error);
  const code = serviceCodeOf(error);
  if (status !== undefined) return code ? `${status} ${code}` : `HTTP ${status}`;
  return code ?? (error instanceof Error ? error.name : 'unknown error');
}

/** Which service an error came from: the credentials chain, the AWS SDK (S3), or Azure Storage (the source). */
function dependencyOf(error: unknown): Dependency | undefined {
  if (error instanceof FederatedCredentialsError) return 'sts';
  const fields = fieldsOf(error);
  // The AWS SDK's retry middleware puts $metadata on every error it passes on, network errors included.
  if (typeof fields.$metadata === 'object' && fields.$metadata !== null) return 's3';
  if (fields.name === 'RestError') return 'source';
  return undefined;
}

function transient(error: unknown, dependency: Dependency | undefined): FailureClass {
  const cause = causeOf(error);
  return { rule: 'transient', dependency, cause: dependency ? `${DEPENDENCY_NAMES[dependency]}: ${cause}` : cause };
}

export function classifyFailure(error: unknown): FailureClass {
  if (error instanceof PermanentTransferError || error instanceof SourceAccountMismatchError) return { rule: 'permanent' };
  // The decision stands but its record could not be written (the state container): decided again later.
  if (error instanceof FailureRecordError)
    return { rule: 'transient', dependency: undefined, cause: `state container: ${causeOf(error.cause)}` };
  // The world moved under the copy: the next attempt sees the new state.
  // (libs/transfer exports no TargetChangedError class: its name is its contract.)
  if (error instanceof SourceChangedError || (error instanceof Error && error.name === 'TargetChangedError'))
    return transient(error, undefined);
  if (error instanceof UnsafeDeleteError) {
    // Reading the bucket's versioning failed (S3's failure), or versioning is not Enabled yet (a setting to fix).
    return error.cause === undefined ? transient(error, undefined) : classifyFailure(error.cause);
  }
  if (error instanceof FederatedCredentialsError) {
    return error.code === 'Aborted' ? { rule: 'unclassified', cause: causeOf(error) } : transient(error, 'sts');
  }
  const dependency = dependencyOf(error);
  switch (failureKind(error)) {
    case 'transient':
    case 'throttled':
    case 'denied':
      // Denied too: a role, trust or bucket policy broken by a deploy is fixed by a deploy.
      return transient(error, dependency);
    case 'conflict':
      return transient(error, undefined);
    default:
      return { rule: 'unclassified', cause: dependency ? `${DEPENDENCY_NAMES[dependency]}: ${causeOf(error)}` : causeOf(error) };
  }
}
