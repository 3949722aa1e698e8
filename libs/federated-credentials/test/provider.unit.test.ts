// Unit-level logic of fromAzureTokenCredential against a stub TokenCredential and a stub STS
// (real AWS SDK STS client over loopback HTTP). Real-path tests: local-cloud-*.test.ts.
import type { Logger } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FederatedCredentialsError,
  credentialProcessOutput,
  fromAzureManagedIdentity,
  fromAzureTokenCredential,
  type FromAzureManagedIdentityOptions,
  type FromAzureTokenCredentialOptions,
} from '../src/index.js';
import { STUB_PRINCIPAL, STUB_TENANT, StubCredential } from './stub-credential.js';
import { startStubSts, type StubSts } from './stub-sts.js';

const JWT = /eyJ[\w-]+\.[\w-]+\./;
const ROLE_ARN = 'arn:aws:iam::123456789012:role/blobferry-backup';
const AUDIENCE = 'api://blobferry-backup';

let sts: StubSts;
beforeAll(async () => {
  sts = await startStubSts();
});
afterAll(async () => {
  await sts.close();
});

function capturingLogger() {
  const lines: string[] = [];
  const record = (...content: unknown[]) => lines.push(content.map(String).join(' '));
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  return { logger, lines };
}

/** Each call makes its own provider, hence its own session. */
function setup(extra: Partial<FromAzureTokenCredentialOptions> = {}) {
  const credential = new StubCredential();
  const { logger, lines } = capturingLogger();
  const provider = fromAzureTokenCredential({
    roleArn: ROLE_ARN,
    audience: AUDIENCE,
    credential,
    stsEndpoint: sts.endpoint,
    logger,
    ...extra,
  });
  const before = sts.requests.length;
  return { credential, provider, lines, stsCalls: () => sts.requests.length - before };
}

async function failure(promise: Promise<unknown>): Promise<FederatedCredentialsError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FederatedCredentialsError);
  return error as FederatedCredentialsError;
}

describe('fromAzureTokenCredential (stub STS)', () => {
  it('exchanges a token for `<audience>/.default` and caches the session', async () => {
    const { credential, provider, stsCalls } = setup();
    const first = await provider();
    const second = await provider();
    expect(first.accessKeyId).toMatch(/^ASIASTUB/);
    expect(second.sessionToken).toBe(first.sessionToken);
    expect(stsCalls()).toBe(1);
    expect(credential.scopes).toEqual([`${AUDIENCE}/.default`]);
    const request = sts.requests.at(-1);
    expect(request?.roleArn).toBe(ROLE_ARN);
    expect(request?.roleSessionName).toBe(`blobferry-${STUB_PRINCIPAL}`);
    // The reported expiration is the real one (default 3600 s session).
    expect((first.expiration?.getTime() ?? 0) - Date.now()).toBeGreaterThan(3500_000);
  });

  it('100 concurrent first calls share one STS request', async () => {
    const { provider, stsCalls } = setup();
    const all = await Promise.all(Array.from({ length: 100 }, () => provider()));
    expect(stsCalls()).toBe(1);
    expect(new Set(all.map((c) => c.sessionToken)).size).toBe(1);
  });

  it('a session is shared by passing one provider; no registry joins providers made with equal options', async () => {
    const credential = new StubCredential();
    const options = { roleArn: ROLE_ARN, audience: AUDIENCE, credential, stsEndpoint: sts.endpoint };
    const before = sts.requests.length;
    const shared = fromAzureTokenCredential(options);
    const [a, b] = await Promise.all([shared(), shared()]);
    expect(a.sessionToken).toBe(b.sessionToken);
    expect(sts.requests.length - before).toBe(1);
    const separate = await fromAzureTokenCredential({ ...options })();
    expect(separate.sessionToken).not.toBe(a.sessionToken);
    expect(sts.requests.length - before).toBe(2);
  });

  it('honours forceRefresh with a fresh Entra token, concurrent forced callers sharing one request', async () => {
    const { credential, provider, stsCalls } = setup();
    const first = await provider();
    const forced = await Promise.all(Array.from({ length: 10 }, () => provider({ forceRefresh: true })));
    expect(stsCalls()).toBe(2);
    expect(new Set(forced.map((c) => c.sessionToken))).toEqual(new Set([forced[0]?.sessionToken]));
    expect(forced[0]?.sessionToken).not.toBe(first.sessionToken);
    expect(credential.scopes).toHaveLength(2);
    const tokens = sts.requests.slice(-2).map((r) => r.token);
    expect(tokens[0]).not.toBe(tokens[1]);
  });

  it('refreshes in the last 5 minutes (the AWS SDK window) and reports the real expiration', async () => {
    const lasting = setup({ durationSeconds: 900 });
    const held = await lasting.provider();
    expect((await lasting.provider()).sessionToken).toBe(held.sessionToken);
    expect(lasting.stsCalls()).toBe(1);
    expect(sts.requests.at(-1)?.durationSeconds).toBe(900);
    expect((held.expiration?.getTime() ?? 0) - Date.now()).toBeGreaterThan(890_000);

    // Sessions shorter than the window are due for a refresh at every call, as the SDK asks at every request.
    sts.issueSessionsOf(240);
    try {
      const { provider, stsCalls } = setup({ durationSeconds: 900 });
      const first = await provider();
      const second = await provider();
      expect(stsCalls()).toBe(2);
      expect(second.sessionToken).not.toBe(first.sessionToken);
      const left = (second.expiration?.getTime() ?? 0) - Date.now();
      expect(left).toBeGreaterThan(230_000);
      expect(left).toBeLessThanOrEqual(240_000);
    } finally {
      sts.issueSessionsOf(undefined);
    }
  });

  it('retries Throttling and IDPCommunicationError with backoff, logging without tokens', async () => {
    const { provider, lines, stsCalls } = setup();
    sts.failNext('Throttling', { times: 2, message: 'Rate exceeded' });
    sts.failNext('IDPCommunicationError', { message: 'could not reach the issuer' });
    const credentials = await provider();
    expect(credentials.accessKeyId).toMatch(/^ASIASTUB/);
    expect(stsCalls()).toBe(4);
    expect(lines.filter((line) => line.includes('retrying'))).toHaveLength(3);
    for (const line of lines) expect(line).not.toMatch(JWT);
  });

  it('gives up on persistent throttling with a clear error', async () => {
    const { provider, stsCalls } = setup();
    sts.failNext('Throttling', { times: 5 });
    const error = await failure(provider());
    expect(error.code).toBe('Throttled');
    expect(error.message).toContain('5 time(s)');
    expect(stsCalls()).toBe(5);
  });

  it('AccessDenied names sub and aud from the token and the infra/aws-iam parameters, scrubbing any echoed token', async () => {
    const { provider, lines } = setup();
    const echoed = sts.requests.at(-1)?.token ?? 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    sts.failNext('AccessDenied', { status: 403, message: `Not authorized to perform sts:AssumeRoleWithWebIdentity with ${echoed}` });
    const error = await failure(provider());
    expect(error.code).toBe('AccessDenied');
    expect(error.message).toContain(`the role's trust policy does not admit sub=${STUB_PRINCIPAL} aud=${AUDIENCE}`);
    expect(error.message).toContain('check the PrincipalId/Audience parameters of infra/aws-iam');
    expect(error.message).toContain(STUB_TENANT);
    expect(error.message).not.toMatch(JWT);
    expect(String((error.cause as Error).message)).not.toMatch(JWT);
    for (const line of lines) expect(line).not.toMatch(JWT);
  });

  it('InvalidIdentityToken points at the OIDC provider URL and client id list', async () => {
    const { provider } = setup();
    sts.failNext('InvalidIdentityToken', { message: 'No OpenIDConnect provider found in your account for https://sts.windows.net/x/' });
    const error = await failure(provider());
    expect(error.code).toBe('InvalidIdentityToken');
    expect(error.message).toContain(`issuer https://sts.windows.net/${STUB_TENANT}/`);
    expect(error.message).toContain(`client id list contains the audience ${AUDIENCE}`);
  });

  it('ExpiredTokenException points at the clock', async () => {
    const { provider } = setup();
    sts.failNext('ExpiredTokenException', { message: 'Token expired: current date/time must be before the expiration date/time' });
    const error = await failure(provider());
    expect(error.code).toBe('ExpiredToken');
    expect(error.message).toContain('clock');
  });

  it('no identity endpoint says how to run off Azure', async () => {
    const { credential, provider, stsCalls } = setup();
    const unavailable = new Error('ManagedIdentityCredential: Network unreachable. Message: connect ECONNREFUSED 169.254.169.254:80');
    unavailable.name = 'CredentialUnavailableError';
    credential.failWith(unavailable);
    const error = await failure(provider());
    expect(error.code).toBe('IdentityUnavailable');
    expect(error.message).toContain('new DefaultAzureCredential()');
    expect(error.message).toContain('--local');
    expect(stsCalls()).toBe(0);
  });

  it('a failed refresh returns the still-valid session and waits before asking STS again', async () => {
    const { provider, lines, stsCalls } = setup({ durationSeconds: 900 });
    sts.issueSessionsOf(240); // inside the refresh window from the start
    try {
      const first = await provider();
      sts.failNext('AccessDenied', { status: 403 });
      const during = await provider();
      expect(during.sessionToken).toBe(first.sessionToken);
      expect(lines.some((line) => line.includes('refresh failed, keeping the current session'))).toBe(true);
      // Backing off: the next call does not hit STS again straight away.
      const again = await provider();
      expect(again.sessionToken).toBe(first.sessionToken);
      expect(stsCalls()).toBe(2);
    } finally {
      sts.issueSessionsOf(undefined);
    }
  });

  it('an aborted signal rejects calls with an Aborted error', async () => {
    const controller = new AbortController();
    const { provider, stsCalls } = setup({ abortSignal: controller.signal });
    controller.abort(new Error('shutting down'));
    const error = await failure(provider());
    expect(error.code).toBe('Aborted');
    expect(stsCalls()).toBe(0);
  });

  it('rejects invalid options with what to fix', () => {
    const credential = new StubCredential();
    expect(() => fromAzureTokenCredential({ roleArn: 'blobferry-backup', audience: AUDIENCE, credential })).toThrow(
      /roleArn must look like/,
    );
    expect(() => fromAzureTokenCredential({ roleArn: ROLE_ARN, audience: AUDIENCE, credential, durationSeconds: 60 })).toThrow(
      /900 to 43200/,
    );
    expect(() => fromAzureTokenCredential({ roleArn: ROLE_ARN, audience: AUDIENCE, credential, roleSessionName: 'has space' })).toThrow(
      /roleSessionName/,
    );
    expect(() => fromAzureTokenCredential({ roleArn: ROLE_ARN, audience: AUDIENCE } as FromAzureTokenCredentialOptions)).toThrow(
      /credential is required/,
    );
    expect(() =>
      fromAzureManagedIdentity({ roleArn: ROLE_ARN, audience: AUDIENCE, managedIdentityClientId: 'c', managedIdentityObjectId: 'o' }),
    ).toThrow(/Choose one identity: got managedIdentityClientId and managedIdentityObjectId/);
    expect(() =>
      fromAzureManagedIdentity({ roleArn: ROLE_ARN, audience: AUDIENCE, credential } as FromAzureManagedIdentityOptions),
    ).toThrow(/fromAzureTokenCredential\(\{ credential/);
  });

  it('credentialProcessOutput prints the credential_process shape', async () => {
    const { provider } = setup({ roleSessionName: 'custom-session' });
    const output = await credentialProcessOutput(provider);
    expect(output).toEqual({
      Version: 1,
      AccessKeyId: expect.stringMatching(/^ASIASTUB/),
      SecretAccessKey: expect.stringMatching(/^secret-/),
      SessionToken: expect.stringMatching(/^session-/),
      Expiration: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(sts.requests.at(-1)?.roleSessionName).toBe('custom-session');
  });
});
