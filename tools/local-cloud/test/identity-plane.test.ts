import { compactVerify, createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BACKUP_IDENTITY,
  DEFAULT_AUDIENCE,
  INTRUDER_IDENTITY,
  LOCAL_TENANT_ID,
  SYSTEM_IDENTITY,
  startIdentityPlane,
  type IdentityPlane,
} from '../src/identity/index.js';

describe('identity plane: OIDC issuer and minted tokens', () => {
  let plane: IdentityPlane;
  beforeAll(async () => {
    plane = await startIdentityPlane({ tokenLifetimeSeconds: 600 });
  });
  afterAll(() => plane.close());

  async function jwks(): Promise<JSONWebKeySet> {
    const discovery = (await (await fetch(`${plane.issuer}.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    return (await (await fetch(discovery.jwks_uri)).json()) as JSONWebKeySet;
  }

  it('exposes fixed, distinct identities and the documented defaults', () => {
    expect(plane.tenantId).toBe(LOCAL_TENANT_ID);
    expect(plane.issuer).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${LOCAL_TENANT_ID}/$`));
    expect(plane.audience).toBe(DEFAULT_AUDIENCE);
    expect([plane.backupIdentity, plane.intruderIdentity, plane.systemIdentity]).toEqual([
      BACKUP_IDENTITY,
      INTRUDER_IDENTITY,
      SYSTEM_IDENTITY,
    ]);
    const ids = [BACKUP_IDENTITY, INTRUDER_IDENTITY, SYSTEM_IDENTITY].flatMap((i) => [i.clientId, i.principalId]);
    expect(new Set(ids).size).toBe(6);
  });

  it('publishes an OpenID discovery document for the tenant', async () => {
    const response = await fetch(`${plane.issuer}.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: plane.issuer,
      jwks_uri: `${plane.issuer}discovery/keys`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
    expect((await fetch(`${plane.imdsHost}/00000000-0000-0000-0000-000000000000/.well-known/openid-configuration`)).status).toBe(404);
  });

  it('publishes two RS256 keys and signs with the current one', async () => {
    const keySet = await jwks();
    expect(keySet.keys).toHaveLength(2);
    for (const key of keySet.keys) expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(keySet.keys[0]?.kid).not.toBe(keySet.keys[1]?.kid);
    const token = await plane.mintToken({ identity: 'backup' });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: keySet.keys[0]?.kid });
    const { payload } = await jwtVerify(token, createLocalJWKSet(keySet), { issuer: plane.issuer, audience: DEFAULT_AUDIENCE });
    expect(payload).toMatchObject({ sub: BACKUP_IDENTITY.principalId, appid: BACKUP_IDENTITY.clientId, ver: '1.0' });
    expect(Number(payload.exp) - Number(payload.iat)).toBe(600 + 300);
  });

  it('mints tokens with the previous key, an unpublished key, another issuer, audience, lifetime, or already expired', async () => {
    const keySet = await jwks();
    const local = createLocalJWKSet(keySet);
    const previous = await plane.mintToken({ identity: 'intruder', signWith: 'previous' });
    expect(decodeProtectedHeader(previous).kid).toBe(keySet.keys[1]?.kid);
    await jwtVerify(previous, local);

    const unknown = await plane.mintToken({ identity: 'backup', signWith: 'unknown' });
    expect(keySet.keys.map((k) => k.kid)).not.toContain(decodeProtectedHeader(unknown).kid);
    await expect(jwtVerify(unknown, local)).rejects.toThrow();

    const foreign = decodeJwt(
      await plane.mintToken({
        identity: 'system',
        issuer: 'https://sts.windows.net/elsewhere/',
        audience: 'api://other/.default',
        lifetimeSeconds: 60,
      }),
    );
    expect(foreign).toMatchObject({ iss: 'https://sts.windows.net/elsewhere/', aud: 'api://other', sub: SYSTEM_IDENTITY.principalId });
    expect(Number(foreign.exp) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60);

    const expired = await plane.mintToken({ identity: 'backup', expired: true });
    expect(Number(decodeJwt(expired).exp)).toBeLessThan(Math.floor(Date.now() / 1000) - 300);
    await expect(jwtVerify(expired, local)).rejects.toThrow(/exp/);
  });

  it('rotates keys: a new current key appears, the old one stays published as previous', async () => {
    const before = await jwks();
    const oldToken = await plane.mintToken({ identity: 'backup' });
    plane.rotateKeys();
    const after = await jwks();
    expect(after.keys[1]?.kid).toBe(before.keys[0]?.kid);
    expect(before.keys.map((k) => k.kid)).not.toContain(after.keys[0]?.kid);
    const newToken = await plane.mintToken({ identity: 'backup' });
    expect(decodeProtectedHeader(newToken).kid).toBe(after.keys[0]?.kid);
    await compactVerify(newToken, createLocalJWKSet(after));
    await compactVerify(oldToken, createLocalJWKSet(after));
  });
});
