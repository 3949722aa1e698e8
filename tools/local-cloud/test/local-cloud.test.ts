import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
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
  type LocalCloud,
  type Stack,
} from '../src/index.js';
import { processGroupGone } from './process-gone.js';

describe('startLocalCloud (Azurite + s3rver + identity plane + STS)', () => {
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
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: expect.any(String),
      connectionString: expect.stringContaining(`BlobEndpoint=${written.azure.blobEndpoint};`),
      sourceContainer: SOURCE_CONTAINER,
    });
    expect(written.aws).toEqual({
      region: 'us-east-1',
      s3Endpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      bucket: BACKUP_BUCKET,
      prefix: '',
      stsEndpoint: expect.any(String),
      roleArn: 'arn:aws:iam::000000000000:role/blobferry-backup',
      emulatorAccessKeyId: 'S3RVER',
      emulatorSecretAccessKey: 'S3RVER',
    });
    expect(written.identity).toMatchObject({
      tenantId: LOCAL_TENANT_ID,
      issuer: expect.stringMatching(new RegExp(`^http://127\\.0\\.0\\.1:\\d+/${LOCAL_TENANT_ID}/$`)),
      audience: 'api://blobferry-backup',
      backupIdentity: BACKUP_IDENTITY,
      intruderIdentity: INTRUDER_IDENTITY,
      systemIdentity: SYSTEM_IDENTITY,
    });
    expect(written.identity.identityHeader).not.toBe('');
    expect(written.events.deadLetter).toBe(join(workDir, '.local-cloud', 'dead-letter'));
  });

  it('serves the source container through @azure/storage-blob with the stack connection string', async () => {
    const service = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
    const blob = service.getContainerClient(cloud.stack.azure.sourceContainer).getBlockBlobClient('reachable/hello.txt');
    await blob.upload('hello azure', 11);
    expect((await blob.downloadToBuffer()).toString()).toBe('hello azure');
  });

  it('serves the bucket through @aws-sdk/client-s3 with the emulator key pair', async () => {
    const { aws } = cloud.stack;
    const s3 = new S3Client({
      endpoint: aws.s3Endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
    });
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'reachable/hello.txt', Body: 'hello s3' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'reachable/hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello s3');
    const wrongKey = new S3Client({
      endpoint: aws.s3Endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAWRONG', secretAccessKey: 'wrong' },
    });
    await expect(wrongKey.send(new ListObjectsV2Command({ Bucket: aws.bucket }))).rejects.toThrow();
  });
});

describe('stop()', () => {
  it('leaves no emulator process behind, removes stack.json, and can be called twice', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'local-cloud-stop-'));
    const stackFile = join(workDir, 'stack.json');
    const cloud = await startLocalCloud({ stackFile, log: () => undefined });
    expect(cloud.childPids.length).toBe(2);
    for (const pid of cloud.childPids) expect(processGroupGone(pid)).toBe(false);
    await Promise.all([cloud.stop(), cloud.stop()]);
    for (const pid of cloud.childPids) expect(processGroupGone(pid)).toBe(true);
    await expect(readFile(stackFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(fetch(cloud.stack.identity.issuer)).rejects.toThrow();
    await rm(workDir, { recursive: true, force: true });
  });
});
