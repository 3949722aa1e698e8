import { ListingOrderError } from '../listing/merge-join.js';

interface ServiceError {
  name?: string;
  code?: string;
  statusCode?: number;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Adds what to do to the errors users actually meet (auth, names), without echoing secrets. */
export function explainFailure(error: unknown): string {
  const failure = (error ?? {}) as ServiceError;
  const message = failure.message ?? String(error);
  const name = failure.name ?? '';
  const code = failure.code ?? name;
  if (error instanceof ListingOrderError) return message;
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationRequiredError' || name === 'AuthenticationError') {
    return `Azure sign-in failed: ${message}. Run \`az login\`, use a managed identity, or pass --connection-string.`;
  }
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
  return message;
}
