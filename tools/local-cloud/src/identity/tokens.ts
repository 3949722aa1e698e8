import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import type { ManagedIdentityInfo } from '../types.js';
import type { SigningKey } from './signing-keys.js';

export interface AccessTokenRequest {
  identity: ManagedIdentityInfo;
  tenantId: string;
  issuer: string;
  /** The resource as the client asked for it; a trailing `/.default` scope suffix is dropped. */
  audience: string;
  lifetimeSeconds: number;
  /** Seconds since the epoch the token is issued at (moved into the past for expired tokens). */
  issuedAt: number;
  key: SigningKey;
}

/** A resource as Entra puts it in `aud`: the App ID URI or app id, without the v2 `/.default` suffix. */
export function resourceToAudience(resource: string): string {
  return resource.endsWith('/.default') ? resource.slice(0, -'/.default'.length) : resource;
}

/** Signs an access token with the claims of an Entra v1 app-only token for a managed identity. */
export async function signAccessToken(request: AccessTokenRequest): Promise<string> {
  const { identity, issuedAt } = request;
  return (
    new SignJWT({
      aio: randomBytes(24).toString('base64url'),
      appid: identity.clientId,
      appidacr: '2',
      idp: request.issuer,
      idtyp: 'app',
      oid: identity.principalId,
      rh: `0.${randomBytes(30).toString('base64url')}.`,
      tid: request.tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
      xms_mirid: identity.resourceId,
    })
      .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: request.key.kid, x5t: request.key.kid })
      .setIssuer(request.issuer)
      .setAudience(resourceToAudience(request.audience))
      .setSubject(identity.principalId)
      // Entra backdates iat and nbf by five minutes to absorb clock skew; exp counts from issuance.
      .setIssuedAt(issuedAt - 300)
      .setNotBefore(issuedAt - 300)
      .setExpirationTime(issuedAt + request.lifetimeSeconds)
      .sign(request.key.privateKey)
  );
}
