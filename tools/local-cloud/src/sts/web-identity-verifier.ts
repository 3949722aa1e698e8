import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK, type JWK, type JWTPayload } from 'jose';
import { StsError } from './errors.js';

// Checks a web identity token's signature the way STS does: discovery document and JWKS fetched
// from the issuer, cached, and fetched again when a token names a kid the cache does not hold (so
// an issuer's key rotation is picked up without restarting).

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

export class IssuerKeys {
  private readonly keySets = new Map<string, JWK[]>();

  constructor(private readonly fetchTimeoutMs = 5000) {}

  /**
   * Verifies the RS256 signature with the key named by the token's kid from `keysFrom`'s JWKS
   * (`keysFrom` is the issuer URL, or the local issuer an AWS provider URL stands for).
   */
  async verifySignature(token: string, decoded: VerifiedToken, keysFrom: string): Promise<void> {
    if (decoded.header.alg !== 'RS256') {
      throw new StsError('InvalidIdentityToken', `Unsupported token signing algorithm ${String(decoded.header.alg)}`);
    }
    let jwk = await this.findKey(keysFrom, decoded.header.kid, false);
    jwk ??= await this.findKey(keysFrom, decoded.header.kid, true);
    if (!jwk) {
      throw new StsError('InvalidIdentityToken', 'Unable to verify the token: no key in the provider JWKS matches its kid');
    }
    try {
      await compactVerify(token, await importJWK({ ...jwk, alg: 'RS256' }, 'RS256'));
    } catch {
      throw new StsError('InvalidIdentityToken', 'The signature of the web identity token is invalid');
    }
  }

  private async findKey(issuer: string, kid: string | undefined, refresh: boolean): Promise<JWK | undefined> {
    let keys = this.keySets.get(issuer);
    if (!keys || refresh) {
      keys = await this.fetchKeys(issuer);
      this.keySets.set(issuer, keys);
    }
    const signingKeys = keys.filter((key) => key.kty === 'RSA' && (key.use === undefined || key.use === 'sig'));
    return kid === undefined && signingKeys.length === 1 ? signingKeys[0] : signingKeys.find((key) => key.kid === kid);
  }

  private async fetchKeys(issuer: string): Promise<JWK[]> {
    const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const discovery = await this.fetchJson(discoveryUrl);
    const jwksUri = discovery['jwks_uri'];
    if (typeof jwksUri !== 'string') throw new StsError('IDPCommunicationError', IDP_UNREACHABLE, `${discoveryUrl} has no jwks_uri`);
    const jwks = await this.fetchJson(jwksUri);
    const keys = jwks['keys'];
    if (!Array.isArray(keys)) throw new StsError('IDPCommunicationError', IDP_UNREACHABLE, `${jwksUri} has no keys`);
    return keys as JWK[];
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
