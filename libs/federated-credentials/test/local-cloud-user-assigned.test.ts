// Real path: ManagedIdentityCredential (user-assigned, App Service style endpoint) -> local STS that
// enforces infra/aws-iam's trust policy -> S3 emulator, through the real AWS SDK clients.
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { ManagedIdentityCredential } from '@azure/identity';
import type { LocalCloud } from '@blobferry/local-cloud';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  FederatedCredentialsError,
  fromAzureManagedIdentity,
  fromAzureTokenCredential,
  type FederationOptions,
  type FromAzureManagedIdentityOptions,
} from '../src/index.js';
import { JWT, capturingLogger, rejection, s3ClientFor, startCloudForIdentity } from './local-cloud-support.js';

let cloud: LocalCloud;
let cloudLog: string[];
let stopCloud: () => Promise<void>;
const logged: string[] = [];

beforeAll(async () => {
  // Short-lived Entra tokens: MSAL re-fetches tokens within 5 minutes of expiry, so every refresh gets a new one.
  ({ cloud, logLines: cloudLog, stop: stopCloud } = await startCloudForIdentity({ endpoint: 'app-service', tokenLifetimeSeconds: 240 }));
});
afterAll(async () => {
  await stopCloud?.();
  // No token in anything this file made visible: our logger's lines and the local cloud's log.
  for (const line of [...logged, ...cloudLog]) expect(line).not.toMatch(JWT);
});

let sessionCounter = 0;
function federation(logger: FederationOptions['logger']): FederationOptions {
  return {
    roleArn: cloud.stack.aws.roleArn,
    audience: cloud.stack.identity.audience,
    stsEndpoint: cloud.stack.aws.stsEndpoint,
    stsRegion: cloud.stack.aws.region,
    roleSessionName: `user-assigned-test-${++sessionCounter}`,
    ...(logger ? { logger } : {}),
  };
}

/** The backup identity's provider (a ManagedIdentityCredential made by fromAzureManagedIdentity); each has its own session. */
function provider(extra: Partial<FromAzureManagedIdentityOptions> = {}): AwsCredentialIdentityProvider {
  const { logger, lines } = capturingLogger();
  return collectingLines(
    fromAzureManagedIdentity({ ...federation(logger), managedIdentityClientId: cloud.stack.identity.backupIdentity.clientId, ...extra }),
    lines,
  );
}

/** A provider for another TokenCredential. */
function providerFor(credential: TokenCredential, extra: Partial<FederationOptions> = {}): AwsCredentialIdentityProvider {
  const { logger, lines } = capturingLogger();
  return collectingLines(fromAzureTokenCredential({ ...federation(logger), credential, ...extra }), lines);
}

function collectingLines(made: AwsCredentialIdentityProvider, lines: string[]): AwsCredentialIdentityProvider {
  return async (properties) => {
    try {
      return await made(properties);
    } finally {
      logged.push(...lines.splice(0));
    }
  };
}

/** Records every token the real credential hands out. */
class RecordingCredential implements TokenCredential {
  readonly tokens: string[] = [];
  private readonly inner: TokenCredential;
  constructor(inner: TokenCredential) {
    this.inner = inner;
  }
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    const token = await this.inner.getToken(scopes, options);
    if (token) this.tokens.push(token.token);
    return token;
  }
}

describe('fromAzureManagedIdentity through the local cloud (user-assigned identity)', () => {
  it('lets an S3 client write, list and read objects', async () => {
    const s3 = s3ClientFor(cloud, provider());
    const key = `${cloud.stack.aws.prefix}federated/hello-${randomBytes(4).toString('hex')}.txt`;
    await s3.send(new PutObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key, Body: 'secretless' }));
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: cloud.stack.aws.bucket, Prefix: `${cloud.stack.aws.prefix}federated/` }),
    );
    expect(listed.Contents?.map((entry) => entry.Key)).toContain(key);
    const read = await s3.send(new GetObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key }));
    expect(await read.Body?.transformToString()).toBe('secretless');
  });

  it('object id and resource id select the same user-assigned identity as its client id', async () => {
    const backup = cloud.stack.identity.backupIdentity;
    for (const selector of [{ managedIdentityObjectId: backup.principalId }, { managedIdentityResourceId: backup.resourceId }]) {
      const credentials = await provider({ managedIdentityClientId: undefined, ...selector })();
      // A session key pair of its own from the local STS, as AWS STS issues them.
      expect(credentials.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
      expect(credentials.sessionToken).toBeTruthy();
    }
  });

  it('100 concurrent first calls make exactly one STS request', async () => {
    const shared = provider();
    const before = cloud.sts.requestCount();
    const all = await Promise.all(Array.from({ length: 100 }, () => shared()));
    expect(cloud.sts.requestCount() - before).toBe(1);
    expect(new Set(all.map((credentials) => credentials.sessionToken)).size).toBe(1);
    expect(new Set(all.map((credentials) => credentials.accessKeyId)).size).toBe(1);
    expect(all[0]?.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
  });

  it('retries STS Throttling and IDPCommunicationError', async () => {
    const fresh = provider();
    const before = cloud.sts.requestCount();
    cloud.sts.failNext('Throttling', 2);
    cloud.sts.failNext('IDPCommunicationError', 1);
    const credentials = await fresh();
    expect(credentials.sessionToken).toBeTruthy();
    expect(cloud.sts.requestCount() - before).toBe(4);
  });

  it('refreshes credentials, with fresh Entra tokens, while a multipart upload is in flight; the upload succeeds', async () => {
    const recording = new RecordingCredential(new ManagedIdentityCredential({ clientId: cloud.stack.identity.backupIdentity.clientId }));
    // Sessions inside the AWS SDK's 5-minute window (real STS grants 900 s at least): the S3 client asks
    // the provider again at every request (one per part here), and the provider refreshes each time.
    cloud.sts.issueSessionsOf(240);
    onTestFinished(() => cloud.sts.issueSessionsOf(undefined));
    const refreshing = providerFor(recording, { durationSeconds: 900 });
    const sessions = new Set<string>();
    const s3 = s3ClientFor(cloud, async (properties) => {
      const credentials = await refreshing(properties);
      sessions.add(credentials.sessionToken ?? '');
      return credentials;
    });
    const body = randomBytes(4 * 5 * 1024 * 1024 + 12_345);
    const key = `${cloud.stack.aws.prefix}federated/multipart-${randomBytes(4).toString('hex')}.bin`;
    const before = cloud.sts.requestCount();
    const upload = new Upload({
      client: s3,
      params: { Bucket: cloud.stack.aws.bucket, Key: key, Body: body },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    let injected = false;
    upload.on('httpUploadProgress', () => {
      if (injected) return;
      injected = true;
      // A refresh that needs retries in the middle of the upload must not fail it.
      cloud.sts.failNext('Throttling', 1);
      cloud.sts.failNext('IDPCommunicationError', 1);
    });
    await upload.done();

    expect(injected).toBe(true);
    // Create + 5 parts + complete, each one signed with credentials from a refresh.
    expect(sessions.size).toBeGreaterThanOrEqual(3);
    expect(cloud.sts.requestCount() - before).toBeGreaterThanOrEqual(sessions.size + 2);
    expect(new Set(recording.tokens).size).toBe(recording.tokens.length);
    expect(recording.tokens.length).toBeGreaterThanOrEqual(sessions.size);
    const stored = await s3ClientFor(cloud, provider()).send(new GetObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key }));
    const bytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
    expect(bytes.length).toBe(body.length);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('the intruder identity gets AccessDenied naming its principal id, the audience and infra/aws-iam', async () => {
    const intruder = cloud.stack.identity.intruderIdentity;
    const error = await rejection(provider({ managedIdentityClientId: intruder.clientId })());
    expect(error).toBeInstanceOf(FederatedCredentialsError);
    expect((error as FederatedCredentialsError).code).toBe('AccessDenied');
    expect(error.message).toContain(
      `the role's trust policy does not admit sub=${intruder.principalId} aud=${cloud.stack.identity.audience}`,
    );
    expect(error.message).toContain('check the PrincipalId/Audience parameters of infra/aws-iam');
    expect(error.message).not.toMatch(JWT);
    expect(String(error.cause instanceof Error ? error.cause.message : error.cause)).not.toMatch(JWT);
  });

  it('a token for another audience gets InvalidIdentityToken hints', async () => {
    const error = await rejection(provider({ audience: 'api://not-the-backup-audience' })());
    expect((error as FederatedCredentialsError).code).toBe('InvalidIdentityToken');
    expect(error.message).toContain('client id list contains the audience api://not-the-backup-audience');
    expect(error.message).not.toMatch(JWT);
  });

  it('an expired token gets the clock hint', async () => {
    const expired: TokenCredential = {
      getToken: async () => ({
        token: await cloud.identity.mintToken({ identity: 'backup', expired: true }),
        expiresOnTimestamp: Date.now() - 60_000,
      }),
    };
    const error = await rejection(providerFor(expired)());
    expect((error as FederatedCredentialsError).code).toBe('ExpiredToken');
    expect(error.message).toContain('clock');
    expect(error.message).not.toMatch(JWT);
  });

  it('a token signed with an unknown key is rejected with InvalidIdentityToken', async () => {
    const forged: TokenCredential = {
      getToken: async () => ({
        token: await cloud.identity.mintToken({ identity: 'backup', signWith: 'unknown' }),
        expiresOnTimestamp: Date.now() + 600_000,
      }),
    };
    const error = await rejection(providerFor(forged)());
    expect((error as FederatedCredentialsError).code).toBe('InvalidIdentityToken');
    expect(error.message).not.toMatch(JWT);
  });
});
