import { FederatedCredentialsError } from '@blobferry/federated-credentials';
import { ListingOrderError, ReconcileRequestError } from '@blobferry/reconcile';
import { httpStatusOf } from '@blobferry/retry-policy';
import { ConfigurationError, RuntimeFailure } from '../cli-errors.js';

interface ServiceError {
  name?: string;
  code?: string;
  message?: string;
}

/** Where the run was talking to, so a message can say what to check. */
export interface FailureContext {
  s3Endpoint: string | undefined;
  region: string | undefined;
  source: string;
}

// Federated credentials (libs/federated-credentials) failing because of who we are, not because a service is down.
const REFUSED_IDENTITY = new Set(['InvalidOptions', 'IdentityUnavailable', 'AccessDenied', 'InvalidIdentityToken', 'ExpiredToken']);

/** The fix for errors that mean the configuration, identity or permissions are wrong (exit code 2), if it is one. */
function configurationHint(error: unknown): string | undefined {
  const failure = (error ?? {}) as ServiceError;
  const message = failure.message ?? String(error);
  const name = failure.name ?? '';
  const code = failure.code ?? name;
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationRequiredError' || name === 'AuthenticationError') {
    return `Azure sign-in failed: ${message}. Run \`az login\`, use a managed identity, or pass --connection-string.`;
  }
  if (error instanceof FederatedCredentialsError && REFUSED_IDENTITY.has(error.code)) return message;
  if (code === 'ContainerNotFound') return `The source container does not exist: ${message}. Check --container and --account-url.`;
  if (code === 'AuthorizationPermissionMismatch' || code === 'AuthorizationFailure' || code === 'AuthenticationFailed') {
    return `Azure refused the listing (${code}): give the identity the "Storage Blob Data Reader" role on the account, or check the connection string.`;
  }
  if (name === 'NoSuchBucket') return 'The backup bucket does not exist: check --bucket (and --region / --s3-endpoint).';
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(message)) {
    return `No AWS credentials: ${message}. Use --role-arn/--audience (federated from an Azure identity), an AWS profile (AWS_PROFILE), or AWS_* variables.`;
  }
  if (['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken'].includes(name)) {
    return `AWS refused the request (${name}): ${message}. Check that the role allows s3:ListBucket, s3:GetObject (and s3:PutObject/DeleteObject for --repair) on the bucket.`;
  }
  if (/Region is missing/i.test(message)) return 'No AWS region: pass --region or set AWS_REGION.';
  return undefined;
}

/** What to check when a service failed the run: unreachable, or failing after the SDK's retries. */
function runtimeHint(failure: ReconcileRequestError, context: FailureContext): string {
  const status = httpStatusOf(failure.cause);
  const where =
    failure.service === 's3'
      ? `the S3 endpoint ${context.s3Endpoint ?? `of region ${context.region ?? '(none set)'}`} (--s3-endpoint, --region)`
      : `the storage account of ${context.source} (--account-url, --connection-string)`;
  const check =
    status === undefined
      ? `Check that ${where} is up and reachable from this machine (network, proxy, DNS, firewall), then run again.`
      : `It kept answering ${status} through the SDK's retries: check ${where}, or try again later.`;
  return `The run stopped before it could finish: ${failure.message}. ${check} Objects not reported yet were not checked.`;
}

/**
 * The CLI's error for a failed run: ConfigurationError (exit 2) when the configuration, identity or
 * permissions are wrong, RuntimeFailure (exit 3) when the run could not complete. Never echoes secrets.
 */
export function explainFailure(error: unknown, context: FailureContext): ConfigurationError | RuntimeFailure {
  if (error instanceof ListingOrderError) return new RuntimeFailure(error.message, { cause: error });
  const cause = error instanceof ReconcileRequestError ? error.cause : error;
  const hint = configurationHint(cause);
  if (hint !== undefined) return new ConfigurationError(hint, { cause: error });
  if (error instanceof ReconcileRequestError) return new RuntimeFailure(runtimeHint(error, context), { cause: error });
  return new RuntimeFailure(`The run stopped before it could finish: ${(error as Error | undefined)?.message ?? String(error)}`, {
    cause: error,
  });
}
