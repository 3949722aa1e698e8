import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ManagedIdentityCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AZURITE_ACCOUNT_NAME,
  BACKUP_BUCKET,
  BACKUP_IDENTITY,
  INTRUDER_IDENTITY,
  LOCAL_TENANT_ID,
  SOURCE_CONTAINER,
  SYSTEM_IDENTITY,
  startLocalCloud,
  useLocalManagedIdentity,
  type LocalCloud,
  type Stack,
} from '../src/index.js';
import { signatureOf } from '../src/s3/sigv4.js';
import { processGroupGone } from './process-gone.js';
import { required } from './required.js';

describe('startLocalCloud (Azurite blob + queue + moto + identity plane + STS)', () => {
  let cloud: LocalCloud;
  let workDir: string;
  let stackFile: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'local-cloud-test-'));
    stackFile = join(workDir, '.local-cloud', 'stack.json');
    cloud = await startLocalCloud({ stackFile, log: () => undefined });
  });

  afterAll(async () => {
    await cloud?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('writes stack.json with every field the contract names, matching the returned stack', async () => {
    const written = JSON.parse(await readFile(stackFile, 'utf8')) as Stack;
    expect(written).toEqual(cloud.stack);
    expect(written.azure).toEqual({
      blobEndpoint: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${AZURITE_ACCOUNT_NAME}$`)),
      queueEndpoint: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${AZURITE_ACCOUNT_NAME}$`)),
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: expect.any(String),
      connectionString: expect.stringContaining(`BlobEndpoint=${written.azure.blobEndpoint};QueueEndpoint=${written.azure.queueEndpoint};`),
      sourceContainer: SOURCE_CONTAINER,
      // Azurite itself, not the blob endpoint clients use (where writes raise events).
      hostStorageConnectionString: expect.stringMatching(
        new RegExp(`BlobEndpoint=http://127\\.0\\.0\\.1:\\d+/${AZURITE_ACCOUNT_NAME};QueueEndpoint=${written.azure.queueEndpoint};`),
      ),
    });
    expect(written.azure.hostStorageConnectionString).not.toContain(written.azure.blobEndpoint);
    expect(written.aws).toEqual({
      region: 'us-east-1',
      s3Endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      bucket: BACKUP_BUCKET,
      prefix: '',
      stsEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/?$/),
      roleArn: 'arn:aws:iam::000000000000:role/blobferry-backup',
      restoreRoleArn: 'arn:aws:iam::000000000000:role/blobferry-restore',
      emulatorAccessKeyId: 'moto-access-key',
      emulatorSecretAccessKey: 'moto-secret-key',
      s3Features: { checksum: 'CRC32', conditionalWrites: true },
    });
    expect(written.identity).toMatchObject({
      tenantId: LOCAL_TENANT_ID,
      issuer: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${LOCAL_TENANT_ID}/$`)),
      audience: 'api://blobferry-backup',
      backupIdentity: BACKUP_IDENTITY,
      intruderIdentity: INTRUDER_IDENTITY,
      systemIdentity: SYSTEM_IDENTITY,
      operatorUser: {
        objectId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        subject: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        userPrincipalName: 'restore-operator@blobferry.local',
        tokenEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/local-user\/token$/),
      },
    });
    expect(written.identity.operatorUser.subject).not.toBe(written.identity.operatorUser.objectId);
    expect(written.identity.identityHeader).not.toBe('');
    expect(written.events).toEqual({
      // Started without events: the queue exists, nothing is delivered to it.
      delivery: 'off',
      queueName: 'blob-events',
      poisonQueueName: 'blob-events-poison',
      subscriptionName: 'local-blobferry-backup',
      inventory: { queueName: 'blob-inventory', poisonQueueName: 'blob-inventory-poison', subscriptionName: 'local-blobferry-inventory' },
      // In the host storage, which the container's blob endpoint shares.
      deadLetterContainerUrl: expect.stringMatching(
        new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${AZURITE_ACCOUNT_NAME}/eventgrid-deadletter$`),
      ),
    });
    expect(written.azure.hostStorageConnectionString).toContain(
      `BlobEndpoint=${written.events.deadLetterContainerUrl.replace(/\/eventgrid-deadletter$/, '')};`,
    );
  });

  it('serves the source container through @azure/storage-blob with the stack connection string', async () => {
    const service = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
    const blob = service.getContainerClient(cloud.stack.azure.sourceContainer).getBlockBlobClient('reachable/hello.txt');
    await blob.upload('hello azure', 11);
    expect((await blob.downloadToBuffer()).toString()).toBe('hello azure');
  });

  it('serves the bucket through @aws-sdk/client-s3 with the emulator key pair', async () => {
    const { aws } = cloud.stack;
    const s3 = s3As(aws, { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey });
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'reachable/hello.txt', Body: 'hello s3' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'reachable/hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello s3');
  });

  it('answers Expect: 100-continue as S3 does: it asks a signed request for its body, and refuses an unsigned one without it', async () => {
    // The AWS SDKs send PUTs over 2 MB with Expect: 100-continue; a server that never answers it makes each
    // such request wait out the SDK's continue timeout (6 s in @smithy/node-http-handler).
    const { aws } = cloud.stack;
    const url = new URL(`/${BACKUP_BUCKET}/expect-continue.bin`, aws.s3Endpoint);
    const body = Buffer.alloc(3 * 1024 * 1024, 1);
    const put = (headers: Record<string, string>) =>
      new Promise<{ continued: boolean; status: number | undefined }>((resolve, reject) => {
        let continued = false;
        const request = httpRequest(url, {
          method: 'PUT',
          headers: { expect: '100-continue', 'content-length': String(body.length), ...headers },
        });
        request.once('continue', () => {
          continued = true;
          request.end(body);
        });
        request.on('response', (response) => {
          response.resume();
          resolve({ continued, status: response.statusCode });
        });
        request.on('error', reject);
        request.flushHeaders();
      });

    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const scope = {
      accessKeyId: aws.emulatorAccessKeyId,
      date: amzDate.slice(0, 8),
      region: aws.region,
      service: 's3',
      signedHeaders: ['host', 'x-amz-content-sha256', 'x-amz-date'],
    };
    const headers = { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'x-amz-date': amzDate };
    const signature = signatureOf({ method: 'PUT', rawUrl: url.pathname, headers }, scope, aws.emulatorSecretAccessKey).toString('hex');
    const authorization = `AWS4-HMAC-SHA256 Credential=${scope.accessKeyId}/${scope.date}/${scope.region}/s3/aws4_request, SignedHeaders=${scope.signedHeaders.join(';')}, Signature=${signature}`;
    expect(await put({ ...headers, authorization })).toEqual({ continued: true, status: 200 });
    expect(await put({})).toEqual({ continued: false, status: 403 });
  });

  it('pages ListObjectsV2 listings with continuation tokens', async () => {
    const { aws } = cloud.stack;
    const s3 = s3As(aws, { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey });
    const keys = ['paged/a', 'paged/b', 'paged/c', 'paged/d', 'paged/e'];
    await Promise.all(keys.map((Key) => s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key, Body: Key }))));
    const listed: string[] = [];
    let ContinuationToken: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: 'paged/', MaxKeys: 2, ContinuationToken }));
      listed.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    expect(listed).toEqual(keys);
  });

  it('end to end: App Service managed identity token -> STS AssumeRoleWithWebIdentity -> S3 ListObjectsV2', async () => {
    const { aws, identity } = cloud.stack;
    // This file runs in its own process, so it may set the variables @azure/identity (MSAL) reads.
    const restoreEnv = useLocalManagedIdentity(identity, 'app-service');
    let token: string;
    try {
      const credential = new ManagedIdentityCredential({ clientId: identity.backupIdentity.clientId });
      token = (await credential.getToken(`${identity.audience}/.default`)).token;
    } finally {
      restoreEnv();
    }

    const requestsBefore = cloud.sts.requestCount();
    const sts = new STSClient({ endpoint: aws.stsEndpoint, region: aws.region });
    const assumed = await sts.send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: aws.roleArn, RoleSessionName: 'local-cloud-e2e', WebIdentityToken: token }),
    );
    expect(cloud.sts.requestCount()).toBe(requestsBefore + 1);
    const credentials = required(assumed.Credentials, 'credentials from STS');
    expect(credentials.Expiration?.getTime()).toBeGreaterThan(Date.now());
    expect(credentials.SessionToken).toBeTruthy();

    const s3 = s3As(aws, {
      accessKeyId: required(credentials.AccessKeyId, 'AccessKeyId'),
      secretAccessKey: required(credentials.SecretAccessKey, 'SecretAccessKey'),
      sessionToken: credentials.SessionToken,
    });
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'federated/proof.txt', Body: 'written with STS credentials' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: 'federated/' }));
    expect(listed.Contents?.map((object) => object.Key)).toEqual(['federated/proof.txt']);
  });

  it('the shipped trust policy refuses the intruder identity', async () => {
    const { aws } = cloud.stack;
    const token = await cloud.identity.mintToken({ identity: 'intruder' });
    const sts = new STSClient({ endpoint: aws.stsEndpoint, region: aws.region });
    await expect(
      sts.send(new AssumeRoleWithWebIdentityCommand({ RoleArn: aws.roleArn, RoleSessionName: 'intruder', WebIdentityToken: token })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe("trust: 'system-assigned'", () => {
  it('makes the role admit the system-assigned identity instead of the backup identity', async () => {
    const cloud = await startLocalCloud({ trust: 'system-assigned', log: () => undefined });
    try {
      const { aws } = cloud.stack;
      const sts = new STSClient({ endpoint: aws.stsEndpoint, region: aws.region });
      const assume = async (identity: 'system' | 'backup') =>
        sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: aws.roleArn,
            RoleSessionName: identity,
            WebIdentityToken: await cloud.identity.mintToken({ identity }),
          }),
        );
      expect((await assume('system')).SubjectFromWebIdentityToken).toBe(SYSTEM_IDENTITY.principalId);
      await expect(assume('backup')).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      await cloud.stop();
    }
  });
});

describe('abortSignal', () => {
  it('refuses to start when already aborted, and stops a running stack when aborted later', async () => {
    await expect(startLocalCloud({ abortSignal: AbortSignal.abort(), log: () => undefined })).rejects.toThrow(/aborted/);

    const controller = new AbortController();
    const cloud = await startLocalCloud({ abortSignal: controller.signal, log: () => undefined });
    controller.abort();
    await cloud.stop(); // the same stop the abort started
    for (const pid of cloud.childPids) expect(processGroupGone(pid)).toBe(true);
    await expect(fetch(cloud.stack.aws.stsEndpoint)).rejects.toThrow();
  });
});

describe('stop()', () => {
  it('leaves no emulator process behind, removes stack.json, and can be called twice', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'local-cloud-stop-'));
    const stackFile = join(workDir, 'stack.json');
    const cloud = await startLocalCloud({ stackFile, log: () => undefined });
    // Azurite's blob and queue services and moto.
    expect(cloud.childPids.length).toBe(3);
    for (const pid of cloud.childPids) expect(processGroupGone(pid)).toBe(false);
    await Promise.all([cloud.stop(), cloud.stop()]);
    for (const pid of cloud.childPids) expect(processGroupGone(pid)).toBe(true);
    await expect(readFile(stackFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fetch(cloud.stack.identity.issuer)).rejects.toThrow();
    await rm(workDir, { recursive: true, force: true });
  });
});

function s3As(aws: Stack['aws'], credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): S3Client {
  return new S3Client({ endpoint: aws.s3Endpoint, region: aws.region, forcePathStyle: true, credentials });
}
