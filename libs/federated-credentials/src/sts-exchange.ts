import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, Logger } from '@smithy/types';
import { setTimeout as sleep } from 'node:timers/promises';
import { FederatedCredentialsError } from './errors.js';
import { RETRYABLE_FAILURES, classifyStsError, explainStsError } from './sts-errors.js';
import type { TokenClaims } from './token-claims.js';

/** Attempts per exchange, and the backoff between them (exponential, jittered). */
const MAX_ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 3_000;

export interface StsTarget {
  roleArn: string;
  region: string;
  /** Overrides the regional endpoint `https://sts.<region>.amazonaws.com`. */
  endpoint?: string;
  durationSeconds?: number;
}

export interface WebIdentityExchange {
  token: string;
  claims: TokenClaims;
  audience: string;
  roleSessionName: string;
  logger?: Logger;
}

export interface StsCredentials extends AwsCredentialIdentity {
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** One STS client per target: AssumeRoleWithWebIdentity is unsigned, so it needs no AWS credentials. */
export function createStsExchanger(target: StsTarget) {
  const client = new STSClient({
    region: target.region,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    // Retries are ours: the SDK's strategy does not retry IDPCommunicationError, and ours logs.
    maxAttempts: 1,
  });
  const endpointLabel = target.endpoint ?? `https://sts.${target.region}.amazonaws.com`;

  return async function exchange(request: WebIdentityExchange): Promise<StsCredentials> {
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await client.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: target.roleArn,
            RoleSessionName: request.roleSessionName,
            WebIdentityToken: request.token,
            ...(target.durationSeconds ? { DurationSeconds: target.durationSeconds } : {}),
          }),
        );
        const issued = response.Credentials;
        if (!issued?.AccessKeyId || !issued.SecretAccessKey || !issued.SessionToken || !issued.Expiration) {
          throw new FederatedCredentialsError('StsError', `STS at ${endpointLabel} answered AssumeRoleWithWebIdentity without complete credentials.`);
        }
        return {
          accessKeyId: issued.AccessKeyId,
          secretAccessKey: issued.SecretAccessKey,
          sessionToken: issued.SessionToken,
          expiration: issued.Expiration,
        };
      } catch (error) {
        if (error instanceof FederatedCredentialsError) throw error;
        const failure = classifyStsError(error);
        if (!RETRYABLE_FAILURES.has(failure) || attempt >= MAX_ATTEMPTS) {
          throw explainStsError(error, {
            roleArn: target.roleArn,
            audience: request.audience,
            claims: request.claims,
            stsEndpoint: endpointLabel,
            attempts: attempt,
          });
        }
        const ceiling = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (attempt - 1));
        const delayMs = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
        request.logger?.warn?.(
          `blobferry federated-credentials: STS ${failure} for ${target.roleArn} (attempt ${attempt}/${MAX_ATTEMPTS}); retrying in ${delayMs} ms`,
        );
        await sleep(delayMs);
      }
    }
  };
}
