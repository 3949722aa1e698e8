import { compactVerify, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, type JWTPayload } from 'jose';
import { StsError } from './errors.js';

// Checks a web identity token's signature the way STS does: the issuer's discovery document names its
// JWKS, which jose's createRemoteJWKSet fetches, caches and fetches again when a token names a kid the
// cache does not hold (so an issuer's key rotation is picked up without restarting).

const IDP_UNREACHABLE =
  "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

export interface VerifiedToken {
  header: { kid?: string; alg?: string };
  claims: JWTPayload;
}

/** Decodes without verifying; InvalidIdentityToken when the token is not a JWT. */
export function decodeWebIdentityToken(token: string): VerifiedToken {
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch {
    throw new StsError('InvalidIdentityToken', 'The web identity token provided could not be parsed as a JWT');
  }
}

type RemoteKeys = ReturnType<typeof createRemoteJWKSet>;

export class IssuerKeys {
  /** Per issuer (or the local issuer standing for it): its JWKS as jose holds it. */
  private readonly keySets = new Map<string, RemoteKeys>();

  constructor(private readonly fetchTimeoutMs = 5000) {}

  /**
   * Verifies the RS256 signature with the key named by the token's kid from `keysFrom`'s JWKS
   * (`keysFrom` is the issuer URL, or the local issuer an AWS provider URL stands for).
   */
  async verifySignature(token: string, decoded: VerifiedToken, keysFrom: string): Promise<void> {
    if (decoded.header.alg !== 'RS256') {
      throw new StsError('InvalidIdentityToken', `Unsupported token signing algorithm ${String(decoded.header.alg)}`);
    }
    const keys = await this.keysOf(keysFrom);
    try {
      await compactVerify(token, keys, { algorithms: ['RS256'] });
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
        throw new StsError('InvalidIdentityToken', 'Unable to verify the token: no key in the provider JWKS matches its kid');
      }
      if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWSInvalid) {
        throw new StsError('InvalidIdentityToken', 'The signature of the web identity token is invalid');
      }
      // Timeouts, refused connections, non-200 answers and malformed key sets: the issuer is unreachable.
      throw new StsError('IDPCommunicationError', IDP_UNREACHABLE, `JWKS of ${keysFrom}: ${(error as Error).message}`);
    }
  }

  private async keysOf(issuer: string): Promise<RemoteKeys> {
    let keys = this.keySets.get(issuer);
    if (!keys) {
      const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
      const jwksUri = (await this.fetchJson(discoveryUrl))['jwks_uri'];
      if (typeof jwksUri !== 'string') throw new StsError('IDPCommunicationError', IDP_UNREACHABLE, `${discoveryUrl} has no jwks_uri`);
      // No cooldown: a kid not yet seen is looked up at once, so a rotation is seen by the next token.
      keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: this.fetchTimeoutMs, cooldownDuration: 0 });
      this.keySets.set(issuer, keys);
    }
    return keys;
  }

  private async fetchJson(url: string): Promise<Record<string, unknown>> {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.fetchTimeoutMs), headers: { accept: 'application/json' } });
    } catch (error) {
      throw new StsError('IDPCommunicationError', IDP_UNREACHABLE, `GET ${url} failed: ${(error as Error).message}`);
    }
    if (!response.ok) {
      throw new StsError('IDPCommunicationError', IDP_UNREACHABLE, `GET ${url} answered ${response.status}`);
    }
    try {
      return (await response.json()) as Record<string, unknown>;
    } catch {
      throw new StsError('IDPCommunicationError', IDP_UNREACHABLE, `GET ${url} did not answer JSON`);
    }
  }
}
