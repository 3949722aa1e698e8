import { AssumeRoleWithWebIdentityCommand, STSClient, type ServiceInputTypes, type ServiceOutputTypes } from '@aws-sdk/client-sts';
import { STS_RETRY } from '@blobferry/retry-policy';
import type { AwsCredentialIdentity, FinalizeRequestMiddleware, Logger } from '@smithy/types';
import { FederatedCredentialsError } from './errors.js';
import { RETRYABLE_FAILURES, classifyStsError, explainStsError } from './sts-errors.js';
import type { TokenClaims } from './token-claims.js';

export interface StsTarget {
  roleArn: string;
  region: string;
  /** Overrides the regional endpoint `https://sts.<region>.amazonaws.com`. */
  endpoint?: string;
  durationSeconds?: number;
  logger?: Logger;
}

export interface WebIdentityExchange {
  token: string;
  claims: TokenClaims;
  audience: string;
  roleSessionName: string;
}

export interface StsCredentials extends AwsCredentialIdentity {
  readonly sessionToken: string;
  readonly expiration: Date;
}

/**
 * One STS client per provider (AssumeRoleWithWebIdentity is unsigned, so it needs no AWS credentials),
 * retried by the SDK under blobferry's policy (STS_RETRY).
 */
export function createStsExchanger(target: StsTarget) {
  const client = new STSClient({
    region: target.region,
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    ...STS_RETRY,
  });
  client.middlewareStack.add(retryableStsFailures(target), {
    step: 'finalizeRequest',
    // Below the SDK's retry middleware ('high'), so it sees every try's error before the strategy does.
    priority: 'low',
    name: 'blobferryRetryableStsFailures',
  });
  const endpointLabel = target.endpoint ?? `https://sts.${target.region}.amazonaws.com`;

  return async function exchange(request: WebIdentityExchange): Promise<StsCredentials> {
    let issued;
    try {
      const response = await client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: target.roleArn,
          RoleSessionName: request.roleSessionName,
          WebIdentityToken: request.token,
          ...(target.durationSeconds ? { DurationSeconds: target.durationSeconds } : {}),
        }),
      );
      issued = response.Credentials;
    } catch (error) {
      throw explainStsError(error, {
        roleArn: target.roleArn,
        audience: request.audience,
        claims: request.claims,
        stsEndpoint: endpointLabel,
        attempts: (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1,
      });
    }
    if (!issued?.AccessKeyId || !issued.SecretAccessKey || !issued.SessionToken || !issued.Expiration) {
      throw new FederatedCredentialsError(
        'StsError',
        `STS at ${endpointLabel} answered AssumeRoleWithWebIdentity without complete credentials.`,
      );
    }
    return {
      accessKeyId: issued.AccessKeyId,
      secretAccessKey: issued.SecretAccessKey,
      sessionToken: issued.SessionToken,
      expiration: issued.Expiration,
    };
  };
}

/**
 * The SDK's standard strategy retries throttling, 5xx and network failures, but not STS's
 * IDPCommunicationError (a 400 that says STS could not reach the issuer, which passes). This marks every
 * failure STS documents as transient with the `$retryable` trait the strategy honours, and logs each retry.
 */
function retryableStsFailures(target: StsTarget): FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> {
  return (next) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      const failure = classifyStsError(error);
      if (RETRYABLE_FAILURES.has(failure) && typeof error === 'object' && error !== null) {
        Object.assign(error, { $retryable: { throttling: failure === 'Throttled' } });
        const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
        const [, attempt, max] = /attempt=(\d+); max=(\d+)/.exec(headers['amz-sdk-request'] ?? '') ?? [];
        if (attempt !== undefined && Number(attempt) < Number(max)) {
          target.logger?.warn?.(
            `blobferry federated-credentials: STS ${failure} for ${target.roleArn} (attempt ${attempt}/${max}); retrying`,
          );
        }
      }
      throw error;
    }
  };
}
