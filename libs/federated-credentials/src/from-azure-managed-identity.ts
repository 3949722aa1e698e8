import type { TokenCredential } from '@azure/core-auth';
import type { AwsCredentialIdentityProvider, Logger } from '@smithy/types';
import { FederatedCredentialsError } from './errors.js';
import { resolveIdentity, type AzureIdentityOptions } from './identity.js';
import { SharedSession } from './shared-session.js';
import { createStsExchanger } from './sts-exchange.js';

export interface FromAzureManagedIdentityOptions extends AzureIdentityOptions {
  /** The role to assume, `arn:aws:iam::<account>:role/<name>`. */
  roleArn: string;
  /** Entra audience (App ID URI or app id) the token is requested for; the role's trust policy pins it. */
  audience: string;
  /** Session name shown in CloudTrail; default `blobferry-<principal id of the identity>`. */
  roleSessionName?: string;
  /** Requested session length, 900..43200 seconds (the role's MaxSessionDuration caps it); STS default 3600. */
  durationSeconds?: number;
  /** STS region; default AWS_REGION, AWS_DEFAULT_REGION, then us-east-1. The regional endpoint is used. */
  stsRegion?: string;
  /** STS endpoint URL, e.g. a VPC endpoint or the local cloud's STS. */
  stsEndpoint?: string;
  /**
   * Refresh this many seconds before the session expires; default 300 (half the session when shorter).
   * May be as large as the session itself, which refreshes on every call: useful to exercise refreshes in tests.
   */
  refreshBeforeExpirySeconds?: number;
  /** Aborts pending calls of this provider (a shared refresh keeps running for other callers). */
  abortSignal?: AbortSignal;
  /** Receives refresh, retry and fallback messages; they never contain tokens or keys. */
  logger?: Logger;
}

/**
 * Sessions live as long as the process for managed identities (a handful of keys), and as long as the
 * caller's credential object otherwise, so providers made per request do not pile up.
 */
const managedIdentitySessions = new Map<string, SharedSession>();
const sessionsByCredential = new WeakMap<TokenCredential, Map<string, SharedSession>>();

function sessionsFor(ownCredential: TokenCredential | undefined): Map<string, SharedSession> {
  if (!ownCredential) return managedIdentitySessions;
  let sessions = sessionsByCredential.get(ownCredential);
  if (!sessions) {
    sessions = new Map();
    sessionsByCredential.set(ownCredential, sessions);
  }
  return sessions;
}

const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;

/**
 * AWS credentials for an Azure identity, through STS AssumeRoleWithWebIdentity with an Entra token.
 * A drop-in for any AWS SDK v3 client's `credentials`. Providers made with equal options share one
 * STS session in the process.
 */
export function fromAzureManagedIdentity(options: FromAzureManagedIdentityOptions): AwsCredentialIdentityProvider {
  validate(options);
  const identity = resolveIdentity(options);
  const region = options.stsRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const key = JSON.stringify([
    options.roleArn,
    options.audience,
    identity.key,
    options.stsEndpoint ?? `region:${region}`,
    options.durationSeconds ?? null,
    options.roleSessionName ?? null,
    options.refreshBeforeExpirySeconds ?? null,
  ]);
  const sessions = sessionsFor(identity.ownCredential);
  let session = sessions.get(key);
  if (!session) {
    session = new SharedSession({
      identity,
      audience: options.audience,
      roleArn: options.roleArn,
      ...(options.roleSessionName ? { roleSessionName: options.roleSessionName } : {}),
      ...(options.refreshBeforeExpirySeconds !== undefined ? { refreshBeforeExpirySeconds: options.refreshBeforeExpirySeconds } : {}),
      exchange: createStsExchanger({
        roleArn: options.roleArn,
        region,
        ...(options.stsEndpoint ? { endpoint: options.stsEndpoint } : {}),
        ...(options.durationSeconds ? { durationSeconds: options.durationSeconds } : {}),
      }),
    });
    sessions.set(key, session);
  }
  const shared = session;
  return (identityProperties) =>
    shared.credentials({
      forceRefresh: identityProperties?.forceRefresh === true,
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
}

function validate(options: FromAzureManagedIdentityOptions): void {
  const problems: string[] = [];
  if (!ROLE_ARN_PATTERN.test(options.roleArn ?? '')) {
    problems.push(`roleArn must look like arn:aws:iam::<12-digit account>:role/<name> (got ${JSON.stringify(options.roleArn)})`);
  }
  if (!options.audience) {
    problems.push('audience is required: the App ID URI or app id the role trust policy expects (Audience parameter of infra/aws-iam)');
  }
  if (options.roleSessionName !== undefined && !SESSION_NAME_PATTERN.test(options.roleSessionName)) {
    problems.push('roleSessionName must be 2..64 characters of letters, digits and +=,.@_-');
  }
  const duration = options.durationSeconds;
  if (duration !== undefined && !(Number.isInteger(duration) && duration >= 900 && duration <= 43_200)) {
    problems.push(`durationSeconds must be an integer from 900 to 43200 (got ${duration})`);
  }
  const refresh = options.refreshBeforeExpirySeconds;
  if (refresh !== undefined && !(Number.isFinite(refresh) && refresh >= 0)) {
    problems.push(`refreshBeforeExpirySeconds must be a number >= 0 (got ${refresh})`);
  }
  if (problems.length > 0) {
    throw new FederatedCredentialsError('InvalidOptions', `fromAzureManagedIdentity: ${problems.join('; ')}.`);
  }
}
