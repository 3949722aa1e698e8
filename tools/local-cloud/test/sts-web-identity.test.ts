import { ManagedIdentityCredential } from '@azure/identity';
import { AssumeRoleWithWebIdentityCommand, STSClient, type AssumeRoleWithWebIdentityCommandInput } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_IDENTITY, DEFAULT_AUDIENCE, LOCAL_TENANT_ID, startIdentityPlane, type IdentityPlane } from '../src/identity/index.js';
import { useLocalManagedIdentity } from '../src/managed-identity-env.js';
import { shippedTrust, startSts, type Sts } from '../src/sts/index.js';

const EMULATOR_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER-secret' };

describe('STS AssumeRoleWithWebIdentity through @aws-sdk/client-sts, with the shipped trust policy', () => {
  let plane: IdentityPlane;
  let sts: Sts;
  const logs: Record<string, unknown>[] = [];
  const issuedTokens: string[] = [];

  beforeAll(async () => {
    plane = await startIdentityPlane({});
    sts = await startSts({
      ...shippedTrust({
        tenantId: LOCAL_TENANT_ID,
        issuer: plane.issuer,
        audience: DEFAULT_AUDIENCE,
        principalId: BACKUP_IDENTITY.principalId,
        bucket: 'blobferry-backup',
      }),
      credentials: EMULATOR_KEYS,
      log: (entry) => logs.push(entry),
    });
  });
  afterAll(async () => {
    await sts.close();
    await plane.close();
  });

  function client(maxAttempts = 1): STSClient {
    return new STSClient({ endpoint: sts.endpoint, region: 'us-east-1', maxAttempts });
  }

  async function assume(token: string, extra: Partial<AssumeRoleWithWebIdentityCommandInput> = {}, maxAttempts = 1) {
    issuedTokens.push(token);
    return client(maxAttempts).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: sts.roleArn, RoleSessionName: 'blobferry-test', WebIdentityToken: token, ...extra }),
    );
  }

  async function expectStsError(promise: Promise<unknown>, code: string, status: number, message?: RegExp) {
    const error = (await promise.then(
      () => {
        throw new Error(`expected ${code}, but STS issued credentials`);
      },
      (caught: unknown) => caught,
    )) as { name: string; Code?: string; message: string; $metadata: { httpStatusCode?: number; requestId?: string } };
    // The SDK names modelled errors by class (InvalidIdentityTokenException); Code is the wire code.
    expect(error.Code).toBe(code);
    expect(error.$metadata.httpStatusCode).toBe(status);
    expect(error.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    if (message) expect(error.message).toMatch(message);
  }

  it('loads the role from the template', () => {
    expect(sts.roleArn).toBe('arn:aws:iam::000000000000:role/blobferry-backup');
  });

  it('admits the backup identity and hands out the emulator keys with a fresh session token', async () => {
    const before = Date.now();
    const first = await assume(await plane.mintToken({ identity: 'backup' }));
    const second = await assume(await plane.mintToken({ identity: 'backup' }));
    expect(first.Credentials).toMatchObject({
      AccessKeyId: EMULATOR_KEYS.accessKeyId,
      SecretAccessKey: EMULATOR_KEYS.secretAccessKey,
    });
    expect(first.Credentials?.SessionToken?.length).toBeGreaterThan(100);
    expect(first.Credentials?.SessionToken).not.toBe(second.Credentials?.SessionToken);
    const expiresIn = (first.Credentials?.Expiration?.getTime() ?? 0) - before;
    expect(expiresIn).toBeGreaterThan(3590_000);
    expect(expiresIn).toBeLessThanOrEqual(3601_000);
    expect(first).toMatchObject({
      SubjectFromWebIdentityToken: BACKUP_IDENTITY.principalId,
      Audience: DEFAULT_AUDIENCE,
      Provider: `arn:aws:iam::000000000000:oidc-provider/sts.windows.net/${LOCAL_TENANT_ID}/`,
      AssumedRoleUser: { Arn: 'arn:aws:sts::000000000000:assumed-role/blobferry-backup/blobferry-test' },
    });
    expect(first.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:blobferry-test$/);
  });

  it('admits a token the real @azure/identity ManagedIdentityCredential fetched for the backup identity', async () => {
    // MSAL picks its managed identity source from the environment the platform sets, once per process.
    const restoreEnvironment = useLocalManagedIdentity(plane, 'app-service');
    try {
      const credential = new ManagedIdentityCredential({ clientId: BACKUP_IDENTITY.clientId });
      const { token } = await credential.getToken(`${DEFAULT_AUDIENCE}/.default`);
      const response = await assume(token);
      expect(response.SubjectFromWebIdentityToken).toBe(BACKUP_IDENTITY.principalId);
    } finally {
      restoreEnvironment();
    }
  });

  it('honours DurationSeconds within 900..MaxSessionDuration', async () => {
    const before = Date.now();
    const response = await assume(await plane.mintToken({ identity: 'backup' }), { DurationSeconds: 900 });
    const expiresIn = (response.Credentials?.Expiration?.getTime() ?? 0) - before;
    expect(expiresIn).toBeGreaterThan(890_000);
    expect(expiresIn).toBeLessThanOrEqual(901_000);
    const token = await plane.mintToken({ identity: 'backup' });
    await expectStsError(assume(token, { DurationSeconds: 7200 }), 'ValidationError', 400, /exceeds the MaxSessionDuration/);
    await expectStsError(assume(token, { DurationSeconds: 60 }), 'ValidationError', 400, /greater than or equal to 900/);
  });

  it('refuses the intruder and the system identity: valid tokens the trust policy does not admit', async () => {
    for (const identity of ['intruder', 'system'] as const) {
      await expectStsError(
        assume(await plane.mintToken({ identity })),
        'AccessDenied',
        403,
        /^Not authorized to perform sts:AssumeRoleWithWebIdentity$/,
      );
    }
    const denial = logs.findLast((entry) => entry['code'] === 'AccessDenied');
    expect(String(denial?.['detail'])).toMatch(/no statement allows/);
  });

  it('refuses a token signed with a key the issuer does not publish', async () => {
    await expectStsError(assume(await plane.mintToken({ identity: 'backup', signWith: 'unknown' })), 'InvalidIdentityToken', 400);
  });

  it('refuses a token from an issuer with no OIDC provider in the account', async () => {
    const token = await plane.mintToken({ identity: 'backup', issuer: 'https://sts.windows.net/11111111-2222-4333-8444-555555555555/' });
    await expectStsError(
      assume(token),
      'InvalidIdentityToken',
      400,
      /No OpenIDConnect provider found in your account for https:\/\/sts\.windows\.net\/1111/,
    );
  });

  it('refuses a token for an audience not in the provider client id list', async () => {
    const token = await plane.mintToken({ identity: 'backup', audience: 'api://someone-else' });
    await expectStsError(assume(token), 'InvalidIdentityToken', 400, /Incorrect token audience/);
  });

  it('refuses an expired token with ExpiredTokenException', async () => {
    await expectStsError(
      assume(await plane.mintToken({ identity: 'backup', expired: true })),
      'ExpiredTokenException',
      400,
      /Token expired/,
    );
  });

  it('keeps verifying across key rotation (new kid fetched again, previous key still accepted)', async () => {
    await assume(await plane.mintToken({ identity: 'backup' }));
    plane.rotateKeys();
    const rotated = await assume(await plane.mintToken({ identity: 'backup' }));
    expect(rotated.SubjectFromWebIdentityToken).toBe(BACKUP_IDENTITY.principalId);
    const previous = await assume(await plane.mintToken({ identity: 'backup', signWith: 'previous' }));
    expect(previous.SubjectFromWebIdentityToken).toBe(BACKUP_IDENTITY.principalId);
  });

  it('validates RoleSessionName and refuses roles the template does not declare', async () => {
    const token = await plane.mintToken({ identity: 'backup' });
    await expectStsError(assume(token, { RoleSessionName: 'has space' }), 'ValidationError', 400, /regular expression pattern/);
    await expectStsError(assume(token, { RoleSessionName: 'x' }), 'ValidationError', 400, /greater than or equal to 2/);
    await expectStsError(assume(token, { RoleSessionName: 'x'.repeat(65) }), 'ValidationError', 400, /less than or equal to 64/);
    await expectStsError(assume(token, { RoleArn: 'arn:aws:iam::000000000000:role/someone-else' }), 'AccessDenied', 403);
    await expectStsError(assume(token, { RoleArn: 'not-an-arn-but-long-enough' }), 'ValidationError', 400);
  });

  it('accepts and ignores a session policy, saying so in its log', async () => {
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
    await assume(await plane.mintToken({ identity: 'backup' }), { Policy: policy });
    expect(logs.findLast((entry) => entry['outcome'] === 'issued')?.['note']).toMatch(/Policy.*ignored/);
  });

  it('injects Throttling (retried by the SDK) and IDPCommunicationError, counting every request', async () => {
    const token = await plane.mintToken({ identity: 'backup' });
    sts.failNext('Throttling');
    await expectStsError(assume(token), 'Throttling', 400, /^Rate exceeded$/);
    const before = sts.requestCount();
    sts.failNext('Throttling');
    await assume(token, {}, 3);
    expect(sts.requestCount() - before).toBe(2);
    sts.failNext('IDPCommunicationError', 2);
    await expectStsError(assume(token), 'IDPCommunicationError', 400);
    await expectStsError(assume(token), 'IDPCommunicationError', 400);
    await assume(token);
  });

  it('never logs a token or a credential', () => {
    expect(logs.some((entry) => entry['outcome'] === 'issued')).toBe(true);
    const logged = JSON.stringify(logs);
    for (const token of issuedTokens) expect(logged).not.toContain(token.split('.')[2]);
    expect(logged).not.toContain(EMULATOR_KEYS.secretAccessKey);
  });
});

describe('STS wire format and other trust configurations', () => {
  let plane: IdentityPlane;
  beforeAll(async () => {
    plane = await startIdentityPlane({});
  });
  afterAll(() => plane.close());

  const start = (principalId: string, issuerAlias = plane.issuer) =>
    startSts({
      ...shippedTrust({ tenantId: LOCAL_TENANT_ID, issuer: issuerAlias, audience: DEFAULT_AUDIENCE, principalId, bucket: 'b-bucket' }),
      credentials: EMULATOR_KEYS,
    });

  it('answers a GET Query-protocol request with the AWS XML document', async () => {
    const sts = await start(BACKUP_IDENTITY.principalId);
    try {
      const query = new URLSearchParams({
        Action: 'AssumeRoleWithWebIdentity',
        Version: '2011-06-15',
        RoleArn: sts.roleArn,
        RoleSessionName: 'get-session',
        WebIdentityToken: await plane.mintToken({ identity: 'backup' }),
      });
      const response = await fetch(`${sts.endpoint}/?${query}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/xml');
      const xml = await response.text();
      expect(xml).toMatch(
        /^<AssumeRoleWithWebIdentityResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<AssumeRoleWithWebIdentityResult>/,
      );
      expect(xml).toMatch(/<Expiration>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ<\/Expiration>/);
      expect(xml).toMatch(/<ResponseMetadata>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ResponseMetadata>/);

      const unknown = await fetch(`${sts.endpoint}/?Action=GetCallerIdentity&Version=2011-06-15`);
      expect(unknown.status).toBe(400);
      expect(await unknown.text()).toMatch(
        /^<ErrorResponse xmlns="https:\/\/sts\.amazonaws\.com\/doc\/2011-06-15\/">\s*<Error>\s*<Type>Sender<\/Type>\s*<Code>InvalidAction<\/Code>\s*<Message>[^<]+<\/Message>\s*<\/Error>\s*<RequestId>[0-9a-f-]{36}<\/RequestId>\s*<\/ErrorResponse>/,
      );
    } finally {
      await sts.close();
    }
  });

  it('admits exactly the principal the template is given (system-assigned trust)', async () => {
    const sts = await start(plane.systemIdentity.principalId);
    const client = new STSClient({ endpoint: sts.endpoint, region: 'us-east-1', maxAttempts: 1 });
    const send = async (identity: 'backup' | 'system') =>
      client.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: sts.roleArn,
          RoleSessionName: 'system-trust',
          WebIdentityToken: await plane.mintToken({ identity }),
        }),
      );
    try {
      await expect(send('system')).resolves.toMatchObject({ SubjectFromWebIdentityToken: plane.systemIdentity.principalId });
      await expect(send('backup')).rejects.toMatchObject({ name: 'AccessDenied', Code: 'AccessDenied' });
    } finally {
      await sts.close();
    }
  });

  it('reports IDPCommunicationError when the issuer cannot be reached', async () => {
    const sts = await start(BACKUP_IDENTITY.principalId, 'http://127.0.0.1:9/nowhere/');
    try {
      const token = await plane.mintToken({ identity: 'backup', issuer: 'http://127.0.0.1:9/nowhere/' });
      const client = new STSClient({ endpoint: sts.endpoint, region: 'us-east-1', maxAttempts: 1 });
      await expect(
        client.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: sts.roleArn, RoleSessionName: 'ss', WebIdentityToken: token })),
      ).rejects.toMatchObject({
        name: 'IDPCommunicationErrorException',
        Code: 'IDPCommunicationError',
        $metadata: { httpStatusCode: 400 },
      });
    } finally {
      await sts.close();
    }
  });

  it('refuses to start on a template parameter the template constraints reject', async () => {
    await expect(start('not-a-guid')).rejects.toThrow(/PrincipalId="not-a-guid" does not match AllowedPattern/);
  });
});
