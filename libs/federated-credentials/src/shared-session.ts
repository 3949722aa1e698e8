import type { AwsCredentialIdentity, Logger } from '@smithy/types';
import { FederatedCredentialsError, abortError } from './errors.js';
import { getEntraToken } from './entra-token.js';
import type { ResolvedIdentity } from './identity.js';
import type { StsCredentials, WebIdentityExchange } from './sts-exchange.js';
import { decodeTokenClaims, type TokenClaims } from './token-claims.js';

/** Refresh this long before expiry unless told otherwise (capped at half of a short session). */
const DEFAULT_REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/**
 * The AWS SDK's own memoization asks the provider again only once credentials are within 5 minutes of
 * `expiration` (@smithy/core EXPIRATION_MS); a larger refresh window must move the reported expiration
 * earlier, or the SDK would never come back in time.
 */
const SDK_EXPIRY_WINDOW_MS = 5 * 60_000;
/** Credentials closer to expiry than this are not handed out as a fallback: a request signed now must still land. */
const STILL_USABLE_MARGIN_MS = 15_000;
/** After a failed refresh while old credentials still work, wait before asking STS again (doubling, capped). */
const FIRST_RETRY_AFTER_FAILURE_MS = 1_000;
const MAX_RETRY_AFTER_FAILURE_MS = 60_000;

export interface SessionSettings {
  identity: ResolvedIdentity;
  audience: string;
  roleArn: string;
  roleSessionName?: string;
  refreshBeforeExpirySeconds?: number;
  exchange: (request: WebIdentityExchange) => Promise<StsCredentials>;
}

export interface CredentialsRequest {
  forceRefresh?: boolean;
  abortSignal?: AbortSignal;
  logger?: Logger;
}

interface HeldSession {
  credentials: StsCredentials;
  refreshAtMs: number;
}

/** One STS session for one set of options, shared by every provider and client in the process. */
export class SharedSession {
  private held: HeldSession | undefined;
  private inFlight: Promise<HeldSession> | undefined;
  private consecutiveFailures = 0;
  private retryNotBeforeMs = 0;
  private readonly settings: SessionSettings;

  constructor(settings: SessionSettings) {
    this.settings = settings;
  }

  async credentials(request: CredentialsRequest): Promise<AwsCredentialIdentity> {
    const { abortSignal, logger } = request;
    if (abortSignal?.aborted) throw abortError(abortSignal);
    const now = Date.now();
    const held = this.held;
    if (held && !request.forceRefresh) {
      if (now < held.refreshAtMs) return presented(held);
      if (now < this.retryNotBeforeMs && isUsable(held, now)) return presented(held);
    }
    // Concurrent callers join the refresh in flight; it is not tied to any one caller's abort signal.
    this.inFlight ??= this.refresh(logger).finally(() => {
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
            `${fallback.credentials.expiration.toISOString()}) and retrying later: ${error instanceof Error ? error.message : String(error)}`,
        );
        return presented(fallback);
      }
      throw error;
    }
  }

  private async refresh(logger: Logger | undefined): Promise<HeldSession> {
    const { identity, audience, roleArn, exchange } = this.settings;
    try {
      // A fresh Entra token for every exchange: the previous one may be close to its own expiry.
      const accessToken = await getEntraToken(identity.credential(), audience);
      const claims = decodeTokenClaims(accessToken.token);
      const issuedAtMs = Date.now();
      const credentials = await exchange({
        token: accessToken.token,
        claims,
        audience,
        roleSessionName: this.settings.roleSessionName ?? sessionNameFor(claims),
        ...(logger ? { logger } : {}),
      });
      const held = { credentials, refreshAtMs: refreshAt(credentials.expiration, issuedAtMs, this.settings.refreshBeforeExpirySeconds) };
      this.held = held;
      this.consecutiveFailures = 0;
      this.retryNotBeforeMs = 0;
      logger?.info(
        `blobferry federated-credentials: assumed ${roleArn} as sub=${claims.sub ?? '?'}; session expires ` +
          `${credentials.expiration.toISOString()}, refresh due ${new Date(held.refreshAtMs).toISOString()}`,
      );
      return held;
    } catch (error) {
      this.consecutiveFailures++;
      this.retryNotBeforeMs =
        Date.now() + Math.min(MAX_RETRY_AFTER_FAILURE_MS, FIRST_RETRY_AFTER_FAILURE_MS * 2 ** (this.consecutiveFailures - 1));
      throw error;
    }
  }
}

function refreshAt(expiration: Date, issuedAtMs: number, refreshBeforeExpirySeconds: number | undefined): number {
  const lifetimeMs = Math.max(0, expiration.getTime() - issuedAtMs);
  const windowMs =
    refreshBeforeExpirySeconds === undefined
      ? Math.min(DEFAULT_REFRESH_BEFORE_EXPIRY_MS, lifetimeMs / 2)
      : Math.min(refreshBeforeExpirySeconds * 1000, lifetimeMs);
  return expiration.getTime() - windowMs;
}

/** What the caller sees: `expiration` is when it must come back, never later than the real expiry. */
function presented(held: HeldSession): AwsCredentialIdentity {
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = held.credentials;
  const comeBackBy = Math.min(expiration.getTime(), held.refreshAtMs + SDK_EXPIRY_WINDOW_MS);
  return { accessKeyId, secretAccessKey, sessionToken, expiration: new Date(comeBackBy) };
}

function isUsable(held: HeldSession, nowMs: number): boolean {
  return held.credentials.expiration.getTime() - nowMs > STILL_USABLE_MARGIN_MS;
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
