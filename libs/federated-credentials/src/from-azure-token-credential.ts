import type { TokenCredential } from '@azure/core-auth';
import type { AwsCredentialIdentityProvider, Logger } from '@smithy/types';
import { FederatedCredentialsError } from './errors.js';
import { createStsExchanger } from './sts-exchange.js';
import { StsSession } from './sts-session.js';

/** Everything but the Azure identity: the role, the audience and how to reach STS. */
export interface FederationOptions {
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
  /** Aborts pending calls of this provider (a refresh other callers share keeps running for them). */
  abortSignal?: AbortSignal;
  /** Receives refresh, retry and fallback messages; they never contain tokens or keys. */
  logger?: Logger;
}

export interface FromAzureTokenCredentialOptions extends FederationOptions {
  /**
   * The Azure identity: the same TokenCredential the rest of the process uses (ManagedIdentityCredential
   * on Azure, DefaultAzureCredential on a developer machine, WorkloadIdentityCredential on AKS).
   */
  credential: TokenCredential;
}

const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SESSION_NAME_PATTERN = /^[\w+=,.@-]{2,64}$/;

/**
 * AWS credentials for an Azure identity, through STS AssumeRoleWithWebIdentity with an Entra token for
 * `audience`. A drop-in for any AWS SDK v3 client's `credentials`. The provider holds one STS session:
 * share it by passing this one provider to every client; each call of fromAzureTokenCredential starts
 * its own session. Credentials carry the session's real expiration.
 */
export function fromAzureTokenCredential(options: FromAzureTokenCredentialOptions): AwsCredentialIdentityProvider {
  return federatedProvider('fromAzureTokenCredential', options);
}

/** Builds the provider; `caller` names the public function in messages. */
export function federatedProvider(caller: string, options: FromAzureTokenCredentialOptions): AwsCredentialIdentityProvider {
  validate(caller, options);
  const region = options.stsRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const session = new StsSession({
    credential: options.credential,
    audience: options.audience,
    roleArn: options.roleArn,
    ...(options.roleSessionName ? { roleSessionName: options.roleSessionName } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    exchange: createStsExchanger({
      roleArn: options.roleArn,
      region,
      ...(options.stsEndpoint ? { endpoint: options.stsEndpoint } : {}),
      ...(options.durationSeconds ? { durationSeconds: options.durationSeconds } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    }),
  });
  return (identityProperties) =>
    session.credentials({
      forceRefresh: identityProperties?.forceRefresh === true,
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
}

function validate(caller: string, options: FromAzureTokenCredentialOptions): void {
  const problems: string[] = [];
  if (typeof options.credential?.getToken !== 'function') {
    problems.push('credential is required: a TokenCredential (ManagedIdentityCredential, DefaultAzureCredential, ...)');
  }
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
  if (problems.length > 0) {
    throw new FederatedCredentialsError('InvalidOptions', `${caller}: ${problems.join('; ')}.`);
  }
}
