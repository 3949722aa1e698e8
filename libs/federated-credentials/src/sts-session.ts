import type { TokenCredential } from '@azure/core-auth';
import { CREDENTIALS_REFRESH_RETRY_MS } from '@blobferry/retry-policy';
import type { AwsCredentialIdentity, Logger } from '@smithy/types';
import { FederatedCredentialsError, abortError } from './errors.js';
import { getEntraToken } from './entra-token.js';
import type { StsCredentials, WebIdentityExchange } from './sts-exchange.js';
import { decodeTokenClaims, type TokenClaims } from './token-claims.js';

/**
 * Refresh this long before expiry: the AWS SDK's own window (@smithy/core EXPIRATION_MS). An SDK client
 * asks its provider again once credentials are within 5 minutes of `expiration`, so a session refreshed
 * at the same point is exactly in step with every client that shares it, with the real expiration.
 */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/** Credentials closer to expiry than this are not handed out as a fallback: a request signed now must still land. */
const STILL_USABLE_MARGIN_MS = 15_000;

export interface SessionSettings {
  credential: TokenCredential;
  audience: string;
  roleArn: string;
  roleSessionName?: string;
  exchange: (request: WebIdentityExchange) => Promise<StsCredentials>;
  logger?: Logger;
}

export interface CredentialsRequest {
  forceRefresh?: boolean;
  abortSignal?: AbortSignal;
}

/** The STS session of one provider, shared by every client the provider is passed to. */
export class StsSession {
  private held: StsCredentials | undefined;
  private inFlight: Promise<StsCredentials> | undefined;
  private retryNotBeforeMs = 0;
  private readonly settings: SessionSettings;

  constructor(settings: SessionSettings) {
    this.settings = settings;
  }

  async credentials(request: CredentialsRequest): Promise<AwsCredentialIdentity> {
    const { abortSignal } = request;
    const { logger } = this.settings;
    if (abortSignal?.aborted) throw abortError(abortSignal);
    const now = Date.now();
    const held = this.held;
    if (held && !request.forceRefresh) {
      if (now < refreshAt(held)) return presented(held);
      if (now < this.retryNotBeforeMs && isUsable(held, now)) return presented(held);
    }
    // Concurrent callers join the refresh in flight; it is not tied to any one caller's abort signal.
    this.inFlight ??= this.refresh().finally(() => {
      this.inFlight = undefined;
    });
    try {
      return presented(await untilAborted(this.inFlight, abortSignal));
    } catch (error) {
      const fallback = this.held;
      const aborted = error instanceof FederatedCredentialsError && error.code === 'Aborted';
      if (!aborted && fallback && isUsable(fallback, Date.now())) {
        logger?.warn(
          `blobferry federated-credentials: refresh failed, keeping the current session (valid until ` +
            `${fallback.expiration.toISOString()}) and retrying in ${CREDENTIALS_REFRESH_RETRY_MS / 1000} s: ${error instanceof Error ? error.message : String(error)}`,
        );
        return presented(fallback);
      }
      throw error;
    }
  }

  private async refresh(): Promise<StsCredentials> {
    const { credential, audience, roleArn, exchange, logger } = this.settings;
    try {
      // A fresh Entra token for every exchange: the previous one may be close to its own expiry.
      const accessToken = await getEntraToken(credential, audience);
      const claims = decodeTokenClaims(accessToken.token);
      const credentials = await exchange({
        token: accessToken.token,
        claims,
        audience,
        roleSessionName: this.settings.roleSessionName ?? sessionNameFor(claims),
      });
      this.held = credentials;
      this.retryNotBeforeMs = 0;
      logger?.info(
        `blobferry federated-credentials: assumed ${roleArn} as sub=${claims.sub ?? '?'}; session expires ` +
          `${credentials.expiration.toISOString()}, refresh due ${new Date(refreshAt(credentials)).toISOString()}`,
      );
      return credentials;
    } catch (error) {
      // STS_RETRY already retried the request; while the current session works, it is served instead.
      this.retryNotBeforeMs = Date.now() + CREDENTIALS_REFRESH_RETRY_MS;
      throw error;
    }
  }
}

function refreshAt(credentials: StsCredentials): number {
  return credentials.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS;
}

/** What the caller sees: the session as STS issued it, with its real expiration. */
function presented(credentials: StsCredentials): AwsCredentialIdentity {
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = credentials;
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

function isUsable(credentials: StsCredentials, nowMs: number): boolean {
  return credentials.expiration.getTime() - nowMs > STILL_USABLE_MARGIN_MS;
}

/** CloudTrail shows the session name; the principal id says which identity it was. */
function sessionNameFor(claims: TokenClaims): string {
  const principal = claims.oid ?? claims.sub ?? 'identity';
  return `blobferry-${principal}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

function untilAborted<T>(work: Promise<T>, abortSignal: AbortSignal | undefined): Promise<T> {
  if (!abortSignal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(abortSignal));
    abortSignal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        abortSignal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        abortSignal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
