import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignJWT } from 'jose';
import type { EndpointResponse } from './managed-identity-endpoints.js';
import type { SigningKey } from './signing-keys.js';
import { resourceToAudience } from './tokens.js';

// A person who restores, beside the managed identities. Entra gives a person's access token a `sub` that is
// pairwise (derived from the user, the tenant and the token's audience), so it differs from their object id
// (`oid`), which is what a managed identity's `sub` is. A trust policy must pin that `sub`; this user proves the
// restore role's trust and `blobferry credentials --show-claims` with it.

/** The made-up person of the local tenant; the object id exists in no real tenant. */
export const OPERATOR_USER = Object.freeze({
  objectId: '7e57ab1e-0b2c-4d3e-8f40-a1b2c3d4e5f6',
  userPrincipalName: 'restore-operator@blobferry.local',
  name: 'Restore Operator',
  /** The client a person's `az login` tokens come from (Azure CLI's public client id). */
  clientAppId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
});

export const USER_TOKEN_PATH = '/local-user/token';

/** The person's `sub` in tokens for `audience`: 43 base64url characters, like Entra's, stable per user and audience. */
export function operatorSubject(tenantId: string, audience: string): string {
  return createHash('sha256')
    .update(`${tenantId}/${OPERATOR_USER.objectId}/${resourceToAudience(audience)}`)
    .digest('base64url')
    .slice(0, 43);
}

export interface UserTokenRequest {
  tenantId: string;
  issuer: string;
  /** The resource asked for (App ID URI or app id; a `/.default` suffix is dropped). */
  audience: string;
  lifetimeSeconds: number;
  /** Seconds since the epoch. */
  issuedAt: number;
  key: SigningKey;
}

/** An Entra v1 delegated (user) access token, as `az account get-access-token --resource <audience>` returns it. */
export function signUserAccessToken(request: UserTokenRequest): Promise<string> {
  const audience = resourceToAudience(request.audience);
  return new SignJWT({
    acr: '1',
    aio: randomBytes(24).toString('base64url'),
    amr: ['pwd', 'mfa'],
    appid: OPERATOR_USER.clientAppId,
    appidacr: '0',
    idtyp: 'user',
    name: OPERATOR_USER.name,
    oid: OPERATOR_USER.objectId,
    rh: `0.${randomBytes(30).toString('base64url')}.`,
    scp: 'user_impersonation',
    tid: request.tenantId,
    unique_name: OPERATOR_USER.userPrincipalName,
    upn: OPERATOR_USER.userPrincipalName,
    uti: randomBytes(16).toString('base64url'),
    ver: '1.0',
  })
    .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: request.key.kid, x5t: request.key.kid })
    .setIssuer(request.issuer)
    .setAudience(audience)
    .setSubject(operatorSubject(request.tenantId, audience))
    .setIssuedAt(request.issuedAt - 300)
    .setNotBefore(request.issuedAt - 300)
    .setExpirationTime(request.issuedAt + request.lifetimeSeconds)
    .sign(request.key.privateKey);
}

export interface UserTokenEndpointContext {
  /** The same secret the App Service style endpoint wants (stack `identity.identityHeader`). */
  identityHeader: string;
  issue(audience: string): Promise<{ accessToken: string; expiresOn: number }>;
}

/**
 * `GET /local-user/token?resource=<audience>` with `X-IDENTITY-HEADER`: the person's token, the local stand-in
 * for a signed-in Azure CLI. It answers in the App Service endpoint's shape so one small client reads both.
 */
export async function handleUserTokenRequest(
  query: URLSearchParams,
  headers: IncomingHttpHeaders,
  context: UserTokenEndpointContext,
): Promise<EndpointResponse> {
  const given = headers['x-identity-header'];
  const secret = Buffer.from(context.identityHeader);
  const presented = Buffer.from(typeof given === 'string' ? given : '');
  if (presented.length !== secret.length || !timingSafeEqual(presented, secret)) {
    return {
      status: 401,
      body: { statusCode: 401, message: 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.' },
    };
  }
  const resource = query.get('resource');
  if (!resource) return { status: 400, body: { statusCode: 400, message: "The 'resource' query parameter is required." } };
  const token = await context.issue(resource);
  return {
    status: 200,
    body: {
      access_token: token.accessToken,
      expires_on: String(token.expiresOn),
      resource: resourceToAudience(resource),
      token_type: 'Bearer',
    },
  };
}
