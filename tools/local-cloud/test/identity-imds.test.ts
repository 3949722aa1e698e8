import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_TENANT_ID, startIdentityPlane, type IdentityPlane } from '../src/identity/index.js';
import type { ManagedIdentityInfo } from '../src/types.js';
import { useLocalManagedIdentity } from '../src/managed-identity-env.js';

// This file runs in its own process, so it may set the variables @azure/identity reads.

// The real SDK path of a VM / AKS pod: IMDS at AZURE_POD_IDENTITY_AUTHORITY_HOST.
describe('IMDS style managed identity endpoint through @azure/identity', () => {
  let plane: IdentityPlane;
  let restoreEnv: () => void;

  beforeAll(async () => {
    plane = await startIdentityPlane({});
    restoreEnv = useLocalManagedIdentity(plane, 'imds');
  });
  afterAll(async () => {
    restoreEnv();
    await plane.close();
  });

  async function expectTokenFor(credential: ManagedIdentityCredential, identity: ManagedIdentityInfo) {
    const token = await credential.getToken(`${plane.audience}/.default`);
    expect(decodeJwt(token.token)).toMatchObject({
      iss: plane.issuer,
      aud: plane.audience,
      sub: identity.principalId,
      oid: identity.principalId,
      appid: identity.clientId,
      tid: LOCAL_TENANT_ID,
      xms_mirid: identity.resourceId,
    });
  }

  it('serves the identity chosen by client id', async () => {
    await expectTokenFor(new ManagedIdentityCredential(plane.backupIdentity.clientId), plane.backupIdentity);
  });

  it('serves the identity chosen by object id', async () => {
    await expectTokenFor(new ManagedIdentityCredential({ objectId: plane.intruderIdentity.principalId }), plane.intruderIdentity);
  });

  it('serves the identity chosen by resource id (msi_res_id)', async () => {
    await expectTokenFor(new ManagedIdentityCredential({ resourceId: plane.intruderIdentity.resourceId }), plane.intruderIdentity);
  });

  it('serves the system-assigned identity when none is named', async () => {
    await expectTokenFor(new ManagedIdentityCredential(), plane.systemIdentity);
  });

  it('is the managed identity link DefaultAzureCredential uses off App Service', async () => {
    const credential = new DefaultAzureCredential({ managedIdentityClientId: plane.backupIdentity.clientId });
    const token = await credential.getToken(`${plane.audience}/.default`);
    expect(decodeJwt(token.token).sub).toBe(plane.backupIdentity.principalId);
  });

  it('refuses an identity the host does not have', async () => {
    const credential = new ManagedIdentityCredential({ clientId: '99999999-9999-4999-8999-999999999999' });
    await expect(credential.getToken(plane.audience)).rejects.toThrow(/Identity not found/);
  });
});

describe('IMDS style endpoint over plain HTTP', () => {
  let plane: IdentityPlane;
  beforeAll(async () => {
    plane = await startIdentityPlane({});
  });
  afterAll(() => plane.close());

  const tokenUrl = (query: Record<string, string>) => `${plane.imdsHost}/metadata/identity/oauth2/token?${new URLSearchParams(query)}`;

  it('requires the Metadata: true header, as IMDS does', async () => {
    const response = await fetch(tokenUrl({ 'api-version': '2018-02-01', resource: 'api://x' }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      error_description: 'Required metadata header not specified',
    });
  });

  it('answers the availability probe (no header, no query) at once with an error that is not "unreachable"', async () => {
    const response = await fetch(`${plane.imdsHost}/metadata/identity/oauth2/token`, { headers: { Accept: 'application/json' } });
    expect(response.status).toBe(400);
    expect(await response.text()).not.toMatch(/unreachable/);
  });

  it('answers every field as a string, as IMDS does', async () => {
    const response = await fetch(tokenUrl({ 'api-version': '2018-02-01', resource: 'api://x/.default' }), {
      headers: { Metadata: 'true' },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ resource: 'api://x', token_type: 'Bearer', client_id: plane.systemIdentity.clientId });
    for (const field of ['expires_in', 'expires_on', 'not_before']) expect(String(body[field])).toMatch(/^\d+$/);
    expect(decodeJwt(String(body['access_token'])).aud).toBe('api://x');
  });

  it('rejects a missing resource or api-version with 400', async () => {
    for (const query of [{ 'api-version': '2018-02-01' }, { resource: 'api://x' }] as Record<string, string>[]) {
      const response = await fetch(tokenUrl(query), { headers: { Metadata: 'true' } });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe('invalid_request');
    }
  });
});
