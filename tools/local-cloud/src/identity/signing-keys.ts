import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export type SigningKeyChoice = 'current' | 'previous' | 'unknown';

/**
 * The issuer's RS256 keys. The JWKS publishes `current` and `previous` (as Entra publishes several keys
 * during a rollover); `unknown` signs but is never published, for bad-signature tests. Rotation creates
 * a brand-new current key, so a verifier holding a cached JWKS meets a kid it has not seen yet.
 */
export class SigningKeyRing {
  private current = createSigningKey();
  private previous = createSigningKey();
  private readonly unpublished = createSigningKey();

  pick(choice: SigningKeyChoice): SigningKey {
    if (choice === 'previous') return this.previous;
    if (choice === 'unknown') return this.unpublished;
    return this.current;
  }

  rotate(): void {
    this.previous = this.current;
    this.current = createSigningKey();
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.current.publicJwk, this.previous.publicJwk] };
  }
}

function createSigningKey(): SigningKey {
  // Synchronous so rotateKeys() stays synchronous; a 2048-bit key takes tens of milliseconds.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const exported = publicKey.export({ format: 'jwk' });
  // Entra's kid is the base64url SHA-1 thumbprint of the signing certificate; a hash of the modulus
  // gives the same look and is unique per key.
  const kid = createHash('sha1').update(String(exported.n)).digest('base64url');
  const publicJwk: JWK = { kty: 'RSA', use: 'sig', alg: 'RS256', kid, n: exported.n, e: exported.e };
  return { kid, privateKey, publicJwk };
}
