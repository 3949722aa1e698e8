import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stack } from '../types.js';

type StackIdentity = Stack['identity'];
import { DEFAULT_AUDIENCE, IDENTITIES, LOCAL_TENANT_ID, SYSTEM_IDENTITY, type IdentityName } from './constants.js';
import {
  APP_SERVICE_TOKEN_PATH,
  IMDS_TOKEN_PATH,
  handleAppServiceTokenRequest,
  handleImdsTokenRequest,
  type EndpointResponse,
  type ManagedIdentityEndpointContext,
} from './managed-identity-endpoints.js';
import { handleUserTokenRequest, OPERATOR_USER, operatorSubject, signUserAccessToken, USER_TOKEN_PATH } from './operator-user.js';
import { SigningKeyRing, type SigningKeyChoice } from './signing-keys.js';
import { resourceToAudience, signAccessToken } from './tokens.js';
import { closeServer } from '../close-server.js';

export { BACKUP_IDENTITY, DEFAULT_AUDIENCE, INTRUDER_IDENTITY, LOCAL_TENANT_ID, SYSTEM_IDENTITY, type IdentityName } from './constants.js';
export { OPERATOR_USER, operatorSubject } from './operator-user.js';

export interface StartIdentityPlaneOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Lifetime of tokens from the managed identity endpoints (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Default audience for mintToken (default `api://blobferry-backup`). */
  audience?: string;
}

export interface MintTokenOptions {
  identity: IdentityName;
  audience?: string;
  lifetimeSeconds?: number;
  /** Overrides `iss` (and `idp`), e.g. to test a token from an issuer STS does not know. */
  issuer?: string;
  /** `unknown` signs with a key the JWKS never publishes. */
  signWith?: SigningKeyChoice;
  /** A token whose `exp` lies ten minutes in the past (beyond any clock-skew allowance). */
  expired?: boolean;
}

/** Everything stack.json says about identity (see types.ts), plus the plane's controls. */
export interface IdentityPlane extends StackIdentity {
  mintToken(options: MintTokenOptions): Promise<string>;
  /** A new key signs from now on; the old current key stays published as the previous one. */
  rotateKeys(): void;
  close(): Promise<void>;
}

/** Starts the OIDC issuer and both managed identity token endpoints on one loopback HTTP server. */
export async function startIdentityPlane(options: StartIdentityPlaneOptions = {}): Promise<IdentityPlane> {
  const host = options.host ?? '127.0.0.1';
  const tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const keys = new SigningKeyRing();
  const identityHeader = randomBytes(24).toString('hex');
  let issuer = '';

  const mintToken = async (o: MintTokenOptions): Promise<string> => {
    const lifetimeSeconds = o.lifetimeSeconds ?? tokenLifetimeSeconds;
    const now = Math.floor(Date.now() / 1000);
    return signAccessToken({
      identity: IDENTITIES[o.identity],
      tenantId: LOCAL_TENANT_ID,
      issuer: o.issuer ?? issuer,
      audience: o.audience ?? audience,
      lifetimeSeconds,
      issuedAt: o.expired ? now - lifetimeSeconds - 600 : now,
      key: keys.pick(o.signWith ?? 'current'),
    });
  };

  const endpointContext: ManagedIdentityEndpointContext = {
    identities: Object.values(IDENTITIES),
    defaultIdentity: SYSTEM_IDENTITY,
    identityHeader,
    async issue(identity, resource) {
      const issuedAt = Math.floor(Date.now() / 1000);
      const accessToken = await signAccessToken({
        identity,
        tenantId: LOCAL_TENANT_ID,
        issuer,
        audience: resource,
        lifetimeSeconds: tokenLifetimeSeconds,
        issuedAt,
        key: keys.pick('current'),
      });
      return { accessToken, expiresOn: issuedAt + tokenLifetimeSeconds, audience: resourceToAudience(resource) };
    },
  };

  const issueUserToken = async (audience: string) => {
    const issuedAt = Math.floor(Date.now() / 1000);
    const accessToken = await signUserAccessToken({
      tenantId: LOCAL_TENANT_ID,
      issuer,
      audience,
      lifetimeSeconds: tokenLifetimeSeconds,
      issuedAt,
      key: keys.pick('current'),
    });
    return { accessToken, expiresOn: issuedAt + tokenLifetimeSeconds };
  };

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      send(response, { status: 500, body: { error: 'server_error', error_description: String(error) } });
    });
  });

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://local');
    if (request.method !== 'GET') {
      send(response, { status: 405, body: { error: 'invalid_request', error_description: 'Only GET is supported' } });
      return;
    }
    const tenantPrefix = `/${LOCAL_TENANT_ID}/`;
    // MSAL normalises IDENTITY_ENDPOINT / the IMDS URL with a trailing slash; the real services accept both.
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, '') : url.pathname;
    switch (path) {
      case APP_SERVICE_TOKEN_PATH:
        send(response, await handleAppServiceTokenRequest(url.searchParams, request.headers, endpointContext));
        return;
      case IMDS_TOKEN_PATH:
        send(response, await handleImdsTokenRequest(url.searchParams, request.headers, endpointContext));
        return;
      case USER_TOKEN_PATH:
        send(response, await handleUserTokenRequest(url.searchParams, request.headers, { identityHeader, issue: issueUserToken }));
        return;
      case `${tenantPrefix}.well-known/openid-configuration`:
        send(response, { status: 200, body: discoveryDocument(issuer) });
        return;
      case `${tenantPrefix}discovery/keys`:
        send(response, { status: 200, body: { ...keys.jwks() } });
        return;
      default:
        send(response, {
          status: 404,
          body: { error: 'not_found', error_description: `No local identity endpoint at ${url.pathname}` },
        });
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  issuer = `${origin}/${LOCAL_TENANT_ID}/`;

  return {
    issuer,
    tenantId: LOCAL_TENANT_ID,
    identityEndpoint: `${origin}${APP_SERVICE_TOKEN_PATH}`,
    identityHeader,
    imdsHost: origin,
    backupIdentity: IDENTITIES.backup,
    intruderIdentity: IDENTITIES.intruder,
    systemIdentity: IDENTITIES.system,
    operatorUser: {
      objectId: OPERATOR_USER.objectId,
      subject: operatorSubject(LOCAL_TENANT_ID, audience),
      userPrincipalName: OPERATOR_USER.userPrincipalName,
      tokenEndpoint: `${origin}${USER_TOKEN_PATH}`,
    },
    audience,
    mintToken,
    rotateKeys: () => keys.rotate(),
    close: () => closeServer(server),
  };
}

/** The v1 endpoint's discovery document, trimmed to what verifiers read. */
function discoveryDocument(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}discovery/keys`,
    authorization_endpoint: `${issuer}oauth2/authorize`,
    token_endpoint: `${issuer}oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    response_modes_supported: ['query', 'fragment', 'form_post'],
    scopes_supported: ['openid'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'oid', 'tid', 'appid', 'ver'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'local.blobferry',
  };
}

function send(response: ServerResponse, { status, body }: EndpointResponse): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  response.end(payload);
}
