import { ManagedIdentityCredential } from '@azure/identity';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID, startIdentityPlane, type IdentityPlane } from '../src/identity/index.js';
import type { ManagedIdentityInfo } from '../src/types.js';
import { useLocalManagedIdentity } from '../src/managed-identity-env.js';

// This file runs in its own process, so it may set the variables @azure/identity reads.

// The real SDK path a Function on App Service / Flex Consumption takes: IDENTITY_ENDPOINT + IDENTITY_HEADER.
describe('App Service style managed identity endpoint through @azure/identity', () => {
  let plane: IdentityPlane;
  let restoreEnv: () => void;

  beforeAll(async () => {
    plane = await startIdentityPlane({ tokenLifetimeSeconds: 1800 });
    restoreEnv = useLocalManagedIdentity(plane, 'app-service');
  });
  afterAll(async () => {
    restoreEnv();
    await plane.close();
  });

  async function expectTokenFor(credential: ManagedIdentityCredential, identity: ManagedIdentityInfo, scope: string) {
    const before = Date.now();
    const token = await credential.getToken(scope);
    const claims = decodeJwt(token.token);
    expect(claims).toMatchObject({
      iss: plane.issuer,
      idp: plane.issuer,
      aud: scope.replace(/\/\.default$/, ''),
      sub: identity.principalId,
      oid: identity.principalId,
      appid: identity.clientId,
      appidacr: '2',
      tid: LOCAL_TENANT_ID,
      xms_mirid: identity.resourceId,
      idtyp: 'app',
      ver: '1.0',
    });
    expect(typeof claims.uti).toBe('string');
    // The configured lifetime reaches both the claim and the SDK's expiry.
    expect(Number(claims.exp) - Math.floor(before / 1000)).toBeGreaterThanOrEqual(1799);
    expect(Number(claims.exp) - Math.floor(before / 1000)).toBeLessThanOrEqual(1801);
    expect(Math.abs(token.expiresOnTimestamp - Number(claims.exp) * 1000)).toBeLessThan(2000);
    // The token verifies against the issuer's published keys.
    const jwks = createRemoteJWKSet(new URL(`${plane.issuer}discovery/keys`));
    await jwtVerify(token.token, jwks, { issuer: plane.issuer, algorithms: ['RS256'] });
    return claims;
  }

  it('serves the user-assigned identity chosen by client id', async () => {
    const credential = new ManagedIdentityCredential({ clientId: plane.backupIdentity.clientId });
    await expectTokenFor(credential, plane.backupIdentity, `${plane.audience}/.default`);
  });

  it('serves the identity chosen by object (principal) id', async () => {
    const credential = new ManagedIdentityCredential({ objectId: plane.intruderIdentity.principalId });
    await expectTokenFor(credential, plane.intruderIdentity, plane.audience);
  });

  it('serves the identity chosen by resource id', async () => {
    const credential = new ManagedIdentityCredential({ resourceId: plane.backupIdentity.resourceId });
    await expectTokenFor(credential, plane.backupIdentity, 'api://another-audience/.default');
  });

  it('serves the system-assigned identity when none is named', async () => {
    const credential = new ManagedIdentityCredential();
    await expectTokenFor(credential, plane.systemIdentity, `${plane.audience}/.default`);
  });

  it('refuses an identity the host does not have, with the App Service error message', async () => {
    const credential = new ManagedIdentityCredential({ clientId: '99999999-9999-4999-8999-999999999999' });
    await expect(credential.getToken(plane.audience)).rejects.toThrow(/No Managed Identity found/);
  });
});

describe('App Service style endpoint over plain HTTP', () => {
  let plane: IdentityPlane;
  beforeAll(async () => {
    plane = await startIdentityPlane({});
  });
  afterAll(() => plane.close());

  const tokenUrl = (query: Record<string, string>) => `${plane.identityEndpoint}?${new URLSearchParams(query)}`;

  it('answers the response shape MSAL parses', async () => {
    const response = await fetch(tokenUrl({ 'api-version': '2019-08-01', resource: 'api://x', client_id: plane.backupIdentity.clientId }), {
      headers: { 'X-IDENTITY-HEADER': plane.identityHeader },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'client_id', 'expires_on', 'resource', 'token_type']);
    expect(body).toMatchObject({ resource: 'api://x', token_type: 'Bearer', client_id: plane.backupIdentity.clientId });
    expect(String(body['expires_on'])).toMatch(/^\d+$/);
  });

  it('rejects a missing or wrong X-IDENTITY-HEADER with 401', async () => {
    const url = tokenUrl({ 'api-version': '2019-08-01', resource: 'api://x' });
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'not-the-secret' } })).status).toBe(401);
  });

  it('rejects a missing resource, a wrong api-version and two identity selectors with 400', async () => {
    const headers = { 'X-IDENTITY-HEADER': plane.identityHeader };
    const cases: Record<string, string>[] = [
      { 'api-version': '2019-08-01' },
      { 'api-version': '2017-09-01', resource: 'api://x' },
      {
        'api-version': '2019-08-01',
        resource: 'api://x',
        client_id: plane.backupIdentity.clientId,
        mi_res_id: plane.backupIdentity.resourceId,
      },
    ];
    for (const query of cases) {
      const response = await fetch(tokenUrl(query), { headers });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { message: string }).message).toBeTruthy();
    }
  });
});
