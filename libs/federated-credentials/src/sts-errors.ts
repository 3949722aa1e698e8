import { failureKind } from '@blobferry/retry-policy';
import { FederatedCredentialsError, type FederatedCredentialsErrorCode } from './errors.js';
import { describeClaims, type TokenClaims } from './token-claims.js';

type StsFailure = Exclude<FederatedCredentialsErrorCode, 'InvalidOptions' | 'IdentityUnavailable' | 'Aborted'>;

const FAILURE_BY_ERROR_NAME: Record<string, StsFailure> = {
  AccessDenied: 'AccessDenied',
  AccessDeniedException: 'AccessDenied',
  InvalidIdentityToken: 'InvalidIdentityToken',
  InvalidIdentityTokenException: 'InvalidIdentityToken',
  IDPRejectedClaim: 'InvalidIdentityToken',
  IDPRejectedClaimException: 'InvalidIdentityToken',
  ExpiredToken: 'ExpiredToken',
  ExpiredTokenException: 'ExpiredToken',
  IDPCommunicationError: 'IdentityProviderUnreachable',
  IDPCommunicationErrorException: 'IdentityProviderUnreachable',
  Throttling: 'Throttled',
  ThrottlingException: 'Throttled',
  TooManyRequestsException: 'Throttled',
  RequestLimitExceeded: 'Throttled',
};

/** Failures worth another attempt: they say nothing about the token or the trust policy. */
export const RETRYABLE_FAILURES: ReadonlySet<StsFailure> = new Set(['IdentityProviderUnreachable', 'Throttled', 'StsUnavailable']);

export function classifyStsError(error: unknown): StsFailure {
  if (!(error instanceof Error)) return 'StsError';
  const known = FAILURE_BY_ERROR_NAME[error.name];
  if (known) return known;
  const kind = failureKind(error);
  if (kind === 'throttled') return 'Throttled';
  if (kind === 'transient') return 'StsUnavailable';
  return 'StsError';
}

export interface StsErrorContext {
  roleArn: string;
  audience: string;
  claims: TokenClaims;
  stsEndpoint: string;
  attempts: number;
}

/** Turns an AssumeRoleWithWebIdentity failure into a message that names what to fix. */
export function explainStsError(error: unknown, context: StsErrorContext): FederatedCredentialsError {
  const failure = classifyStsError(error);
  const stsSays = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const { roleArn, audience, claims, stsEndpoint, attempts } = context;
  const who = describeClaims(claims);
  const messages: Record<StsFailure, string> = {
    AccessDenied:
      `STS refused to let this identity assume ${roleArn}: the role's trust policy does not admit ` +
      `sub=${claims.sub ?? '?'} aud=${claims.aud ?? audience}: check the PrincipalId/Audience parameters of infra/aws-iam ` +
      `(PrincipalId must be the identity's principal/object id, not its client id; token iss=${claims.iss ?? '?'} tid=${claims.tid ?? '?'}). ` +
      `STS said: ${stsSays}`,
    InvalidIdentityToken:
      `STS rejected the Entra token (${who}) for ${roleArn}. Check that the IAM OIDC provider URL is exactly the token's ` +
      `issuer ${claims.iss ?? '(see iss)'} (https://sts.windows.net/<TenantId>/ with the trailing slash: TenantId parameter of infra/aws-iam), ` +
      `that the provider's client id list contains the audience ${claims.aud ?? audience} (Audience parameter), ` +
      `and that you asked Entra for that audience (audience option / --audience). ` +
      (claims.iss?.endsWith('/v2.0')
        ? 'This is a v2 token (login.microsoftonline.com/.../v2.0): the provider must use that issuer, or the app must issue v1 tokens. '
        : '') +
      `STS said: ${stsSays}`,
    ExpiredToken:
      `STS says the Entra token has expired (exp=${claims.exp === undefined ? '?' : new Date(claims.exp * 1000).toISOString()}, ` +
      `this machine's clock says ${new Date().toISOString()}). Check the clock (NTP) of this machine; a fresh token is requested on the next call. ` +
      `STS said: ${stsSays}`,
    IdentityProviderUnreachable:
      `STS could not fetch the issuer's OpenID configuration/keys for ${claims.iss ?? 'the token issuer'} after ${attempts} attempt(s); ` +
      `this is usually transient, try again later. STS said: ${stsSays}`,
    Throttled:
      `STS throttled AssumeRoleWithWebIdentity ${attempts} time(s) in a row. Share one provider per process ` +
      `(build it once and pass it to every client) and avoid forceRefresh loops. STS said: ${stsSays}`,
    StsUnavailable:
      `STS at ${stsEndpoint} did not answer after ${attempts} attempt(s) (${stsSays}). Check network access to the endpoint ` +
      `(stsEndpoint / stsRegion options, proxy settings).`,
    StsError: `AssumeRoleWithWebIdentity for ${roleArn} failed (${who}). STS said: ${stsSays}`,
  };
  return new FederatedCredentialsError(failure, messages[failure], { cause: error });
}
