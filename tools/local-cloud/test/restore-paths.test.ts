import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  type ListObjectVersionsCommandOutput,
} from '@aws-sdk/client-s3';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BlobServiceClient, RestError, type ContainerClient } from '@azure/storage-blob';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud, type Stack } from '../src/index.js';
import { required } from './required.js';

// What a restore needs from the local cloud, enforced as Azure and AWS enforce it: a person whose token's `sub`
// is not their object id assumes the read-only restore role; the S3 gateway checks presigned URLs (signature,
// X-Amz-Expires, the session's token and lifetime); the blob front answers Put Blob / Put Block From URL by
// fetching the URL, with Azure's limits and error codes.

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

const s3As = (aws: Stack['aws'], credentials: Credentials) =>
  new S3Client({ endpoint: aws.s3Endpoint, region: aws.region, forcePathStyle: true, credentials, maxAttempts: 1 });

async function userToken(stack: Stack): Promise<string> {
  const url = new URL(stack.identity.operatorUser.tokenEndpoint);
  url.searchParams.set('resource', stack.identity.audience);
  const response = await fetch(url, { headers: { 'X-IDENTITY-HEADER': stack.identity.identityHeader } });
  return ((await response.json()) as { access_token: string }).access_token;
}

async function assume(stack: Stack, roleArn: string, token: string): Promise<Credentials> {
  const sts = new STSClient({ endpoint: stack.aws.stsEndpoint, region: stack.aws.region, maxAttempts: 1 });
  const { Credentials: issued } = await sts.send(
    new AssumeRoleWithWebIdentityCommand({ RoleArn: roleArn, RoleSessionName: 'restore-test', WebIdentityToken: token }),
  );
  return {
    accessKeyId: required(issued?.AccessKeyId, 'key'),
    secretAccessKey: required(issued?.SecretAccessKey, 'secret'),
    sessionToken: required(issued?.SessionToken, 'token'),
  };
}

describe('the local cloud for restores', () => {
  let cloud: LocalCloud;
  let stack: Stack;
  let admin: S3Client;
  let target: ContainerClient;
  const key = 'restore-paths/a.bin';
  const older = Buffer.from('the first version');
  const newer = Buffer.from('the second version, longer');
  let olderVersion: string;

  beforeAll(async () => {
    cloud = await startLocalCloud({ log: () => undefined });
    stack = cloud.stack;
    admin = s3As(stack.aws, { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey });
    olderVersion = required((await admin.send(new PutObjectCommand({ Bucket: stack.aws.bucket, Key: key, Body: older }))).VersionId, 'v1');
    await admin.send(new PutObjectCommand({ Bucket: stack.aws.bucket, Key: key, Body: newer, ContentType: 'text/plain' }));
    target = BlobServiceClient.fromConnectionString(stack.azure.connectionString).getContainerClient('restored');
    await target.createIfNotExists();
  }, 180_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  describe('a person operates the restore role', () => {
    it('gets a token whose sub is pairwise, not the object id, and only that sub may assume the restore role', async () => {
      const token = await userToken(stack);
      const claims = decodeJwt(token);
      expect(claims.oid).toBe(stack.identity.operatorUser.objectId);
      expect(claims.sub).toBe(stack.identity.operatorUser.subject);
      expect(claims.sub).not.toBe(claims.oid);
      expect(claims.idtyp).toBe('user');
      await expect(assume(stack, stack.aws.restoreRoleArn, token)).resolves.toMatchObject({ accessKeyId: expect.stringMatching(/^ASIA/) });
      // Neither the backup identity on the restore role nor the person on the backup role.
      const backupToken = await cloud.identity.mintToken({ identity: 'backup' });
      await expect(assume(stack, stack.aws.restoreRoleArn, backupToken)).rejects.toMatchObject({ name: 'AccessDenied' });
      await expect(assume(stack, stack.aws.roleArn, token)).rejects.toMatchObject({ name: 'AccessDenied' });
    });

    it('lets the restore role read and list versions and write nothing; the backup role reads no old version', async () => {
      const restore = s3As(stack.aws, await assume(stack, stack.aws.restoreRoleArn, await userToken(stack)));
      const listed: ListObjectVersionsCommandOutput = await restore.send(
        new ListObjectVersionsCommand({ Bucket: stack.aws.bucket, Prefix: 'restore-paths/' }),
      );
      expect(listed.Versions?.map((version) => version.VersionId)).toContain(olderVersion);
      const old = await restore.send(new GetObjectCommand({ Bucket: stack.aws.bucket, Key: key, VersionId: olderVersion }));
      expect(Buffer.from(await required(old.Body, 'body').transformToByteArray())).toEqual(older);
      await expect(restore.send(new PutObjectCommand({ Bucket: stack.aws.bucket, Key: key, Body: 'ransom' }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(restore.send(new DeleteObjectCommand({ Bucket: stack.aws.bucket, Key: key }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(restore.send(new GetObjectCommand({ Bucket: stack.aws.bucket, Key: key }))).rejects.toMatchObject({
        name: 'AccessDenied',
      });

      const backup = s3As(stack.aws, await assume(stack, stack.aws.roleArn, await cloud.identity.mintToken({ identity: 'backup' })));
      await expect(
        backup.send(new GetObjectCommand({ Bucket: stack.aws.bucket, Key: key, VersionId: olderVersion })),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
      });
      await expect(
        backup.send(new ListObjectVersionsCommand({ Bucket: stack.aws.bucket, Prefix: 'restore-paths/' })),
      ).rejects.toMatchObject({
        name: 'AccessDenied',
      });
    });
  });

  describe('presigned URLs, checked as S3 checks them', () => {
    let restore: S3Client;
    beforeAll(async () => {
      restore = s3As(stack.aws, await assume(stack, stack.aws.restoreRoleArn, await userToken(stack)));
    });
    const presign = (client: S3Client, expiresIn: number) =>
      getSignedUrl(client, new GetObjectCommand({ Bucket: stack.aws.bucket, Key: key, VersionId: olderVersion }), { expiresIn });

    it("serves a version to a session's URL, and refuses a tampered one", async () => {
      const url = await presign(restore, 300);
      expect(url).toContain('X-Amz-Security-Token=');
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer())).toEqual(older);
      const tampered = await fetch(
        url.replace(/X-Amz-Signature=([0-9a-f])/, (_, first: string) => `X-Amz-Signature=${first === '0' ? '1' : '0'}`),
      );
      expect(tampered.status).toBe(403);
      expect(await tampered.text()).toContain('<Code>SignatureDoesNotMatch</Code>');
      const withoutToken = await fetch(url.replace(/&X-Amz-Security-Token=[^&]*/, ''));
      expect(withoutToken.status).toBe(400);
      expect(await withoutToken.text()).toContain('<Code>InvalidToken</Code>');
    });

    it('refuses a URL past its X-Amz-Expires, one valid longer than a week, and one whose session has expired', async () => {
      const expired = await getSignedUrl(restore, new GetObjectCommand({ Bucket: stack.aws.bucket, Key: key, VersionId: olderVersion }), {
        expiresIn: 1,
        signingDate: new Date(Date.now() - 10_000),
      });
      const late = await fetch(expired);
      expect(late.status).toBe(403);
      expect(await late.text()).toContain('Request has expired');
      const tooLong = await fetch((await presign(restore, 60)).replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604801'));
      expect(tooLong.status).toBe(400);
      expect(await tooLong.text()).toContain('<Code>AuthorizationQueryParametersError</Code>');

      cloud.sts.issueSessionsOf(1);
      try {
        const shortSession = s3As(stack.aws, await assume(stack, stack.aws.restoreRoleArn, await userToken(stack)));
        const url = await presign(shortSession, 3600);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const answer = await fetch(url);
        expect(answer.status).toBe(400);
        expect(await answer.text()).toContain('<Code>ExpiredToken</Code>');
      } finally {
        cloud.sts.issueSessionsOf(undefined);
      }
    });
  });

  describe('Put Blob From URL and Put Block From URL', () => {
    let restore: S3Client;
    beforeAll(async () => {
      restore = s3As(stack.aws, await assume(stack, stack.aws.restoreRoleArn, await userToken(stack)));
    });
    const versionUrl = () =>
      getSignedUrl(restore, new GetObjectCommand({ Bucket: stack.aws.bucket, Key: key, VersionId: olderVersion }), { expiresIn: 300 });
    const md5Of = (bytes: Buffer) => createHash('md5').update(bytes).digest();

    it('writes a block blob from a presigned URL, checked against the MD5 given, with the headers given', async () => {
      const blob = target.getBlockBlobClient('from-url/whole.bin');
      await blob.syncUploadFromURL(await versionUrl(), {
        sourceContentMD5: md5Of(older),
        copySourceBlobProperties: false,
        blobHTTPHeaders: { blobContentType: 'application/x-restored', blobCacheControl: 'no-cache' },
        metadata: { Origin: 'backup' },
      });
      expect(await blob.downloadToBuffer()).toEqual(older);
      const properties = await blob.getProperties();
      expect(properties.contentType).toBe('application/x-restored');
      expect(properties.cacheControl).toBe('no-cache');
      expect(properties.metadata).toEqual({ origin: 'backup' });
      expect(Buffer.from(required(properties.contentMD5, 'md5'))).toEqual(md5Of(older));
      await cloud.events.idle();
    });

    it('refuses bytes that are not the MD5 given, and writes nothing', async () => {
      const blob = target.getBlockBlobClient('from-url/mismatch.bin');
      const refused = await blob.syncUploadFromURL(await versionUrl(), { sourceContentMD5: md5Of(newer) }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(RestError);
      expect(refused).toMatchObject({ statusCode: 400, code: 'Md5Mismatch' });
      expect(await blob.exists()).toBe(false);
    });

    it("answers CannotVerifyCopySource with the source's status when S3 refuses the URL", async () => {
      const blob = target.getBlockBlobClient('from-url/refused.bin');
      const forged = (await versionUrl()).replace(
        /X-Amz-Signature=([0-9a-f])/,
        (_, first: string) => `X-Amz-Signature=${first === '0' ? '1' : '0'}`,
      );
      const refused = await blob.syncUploadFromURL(forged).catch((error: unknown) => error);
      expect(refused).toMatchObject({ statusCode: 403, code: 'CannotVerifyCopySource' });
      expect((refused as RestError).response?.headers.get('x-ms-copy-source-status-code')).toBe('403');
      expect((refused as RestError).response?.headers.get('x-ms-copy-source-error-code')).toBe('SignatureDoesNotMatch');
      expect(await blob.exists()).toBe(false);
    });

    it('refuses a copy source longer than 2 KiB', async () => {
      const url = `${await versionUrl()}&padding=${'x'.repeat(2048)}`;
      const refused = await target
        .getBlockBlobClient('from-url/long.bin')
        .syncUploadFromURL(url)
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ statusCode: 400, code: 'InvalidHeaderValue' });
    });

    it('stages ranges of the source as blocks, reporting each block CRC64, and commits them once', async () => {
      const blob = target.getBlockBlobClient('from-url/blocks.bin');
      const url = await getSignedUrl(restore, new GetObjectCommand({ Bucket: stack.aws.bucket, Key: key }), { expiresIn: 300 }).catch(
        () => undefined,
      );
      // The restore role reads versions only: an URL for the current object (no versionId) is refused at S3.
      expect(url).toBeDefined();
      const refused = await blob
        .stageBlockFromURL(Buffer.from('b0').toString('base64'), required(url, 'url'), 0, 4)
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ statusCode: 403, code: 'CannotVerifyCopySource' });

      const source = await versionUrl();
      const ids = [0, 1].map((index) => Buffer.from(`block-${index}`).toString('base64'));
      const first = await blob.stageBlockFromURL(ids[0] ?? '', source, 0, 9);
      const second = await blob.stageBlockFromURL(ids[1] ?? '', source, 9, older.length - 9);
      const crc64Of = (answer: { xMsContentCrc64?: Uint8Array }) =>
        Buffer.from(required(answer.xMsContentCrc64, 'CRC64')).toString('base64');
      expect(crc64Of(first)).toMatch(/^[A-Za-z0-9+/]{11}=$/);
      expect(crc64Of(first)).not.toBe(crc64Of(second));
      expect(await blob.exists()).toBe(false);
      await blob.commitBlockList(ids);
      expect(await blob.downloadToBuffer()).toEqual(older);
    });

    it('refuses a From-URL request not signed with the account key', async () => {
      const forged = BlobServiceClient.fromConnectionString(
        stack.azure.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('not the key').toString('base64')}`),
      ).getContainerClient('restored');
      const refused = await forged
        .getBlockBlobClient('from-url/forged.bin')
        .syncUploadFromURL(await versionUrl())
        .catch((error: unknown) => error);
      expect(refused).toMatchObject({ statusCode: 403, code: 'AuthenticationFailed' });
    });
  });
});
