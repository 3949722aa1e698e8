import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IamRole } from '../src/iam/model.js';
import { RoleSessions } from '../src/iam/sessions.js';
import { startIamGateway, type IamGateway } from '../src/s3/iam-gateway.js';
import { s3Operation } from '../src/s3/s3-permissions.js';

// The gateway's rules with a role written here, in front of a stub S3 that answers 404 to every GET and
// HEAD of an object and 200 to the rest: what reaches the stub was allowed, what does not was refused by the gateway.

const REGION = 'us-east-1';
const ROLE_ARN = 'arn:aws:iam::000000000000:role/reader';
const readerRole: IamRole = {
  arn: ROLE_ARN,
  name: 'reader',
  roleId: 'AROAREADER',
  maxSessionDurationSeconds: 3600,
  trustPolicy: { Statement: [] },
  policies: [
    {
      Statement: [
        {
          Sid: 'ReadAndWrite',
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
          Resource: 'arn:aws:s3:::bucket/*',
        },
        { Sid: 'NeverSecrets', Effect: 'Deny', Action: 's3:*', Resource: 'arn:aws:s3:::bucket/secret/*' },
      ],
    },
  ],
};

describe('IAM gateway rules (stub S3 behind it)', () => {
  let stub: Server;
  let gateway: IamGateway;
  let role: S3Client;
  const reached: string[] = [];
  /** What the gateway forwarded, without its own bucket-existence checks (HEAD /bucket before a refusal). */
  const forwarded = () => reached.filter((line) => line !== 'HEAD /bucket');

  beforeAll(async () => {
    stub = createServer((request, response) => {
      reached.push(`${request.method} ${request.url}`);
      request.resume();
      request.on('end', () => {
        // The bucket exists; no object does.
        const missing = (request.method === 'GET' || request.method === 'HEAD') && /^\/[^/?]+\/[^?]/.test(request.url ?? '');
        response.writeHead(missing ? 404 : 200, { 'content-type': 'application/xml' });
        response.end(missing && request.method === 'GET' ? '<Error><Code>NoSuchKey</Code><Message>none</Message></Error>' : '');
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const sessions = new RoleSessions();
    const session = sessions.issue({
      roleArn: ROLE_ARN,
      assumedRoleArn: 'arn:aws:sts::000000000000:assumed-role/reader/test',
      expiration: new Date(Date.now() + 3_600_000),
    });
    gateway = await startIamGateway({
      upstream: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
      region: REGION,
      accountId: '000000000000',
      administrator: { accessKeyId: 'admin', secretAccessKey: 'admin-secret' },
      sessions,
      roles: [readerRole],
      log: () => undefined,
    });
    role = new S3Client({ endpoint: gateway.endpoint, region: REGION, forcePathStyle: true, credentials: session, maxAttempts: 1 });
  });

  afterAll(async () => {
    await gateway?.close();
    await new Promise((resolve) => stub?.close(resolve));
  });

  it('answers 403, not 404, for a missing object to a caller who may not list the bucket', async () => {
    await expect(role.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'missing' }))).rejects.toMatchObject({
      name: 'AccessDenied',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(role.send(new HeadObjectCommand({ Bucket: 'bucket', Key: 'missing' }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    expect(forwarded().filter((line) => line.startsWith('GET /bucket/missing') || line.startsWith('HEAD /bucket/missing'))).toHaveLength(2);
  });

  it('lets an explicit Deny win over an Allow, and names it', async () => {
    const before = forwarded().length;
    const error = await role
      .send(new PutObjectCommand({ Bucket: 'bucket', Key: 'secret/key', Body: 'x' }))
      .catch((caught: Error) => caught);
    expect((error as Error).message).toContain('with an explicit deny in an identity-based policy (explicitly denied by NeverSecrets)');
    await role.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'open/key', Body: 'x' }));
    expect(forwarded().slice(before)).toEqual([expect.stringMatching(/^PUT \/bucket\/open\/key/)]);
  });

  it('refuses tags to a role without the tagging grants, as S3 does: with the object, on their own, and reading them', async () => {
    const before = forwarded().length;
    const taggingDenied = (action: string) =>
      expect.objectContaining({ name: 'AccessDenied', message: expect.stringContaining(`perform: ${action}`) });
    // PutObject and CreateMultipartUpload carrying x-amz-tagging need s3:PutObjectTagging besides s3:PutObject.
    await expect(role.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'open/tagged', Body: 'x', Tagging: 'a=b' }))).rejects.toEqual(
      taggingDenied('s3:PutObjectTagging'),
    );
    await expect(role.send(new CreateMultipartUploadCommand({ Bucket: 'bucket', Key: 'open/tagged', Tagging: 'a=b' }))).rejects.toEqual(
      taggingDenied('s3:PutObjectTagging'),
    );
    await expect(
      role.send(
        new CopyObjectCommand({
          Bucket: 'bucket',
          Key: 'open/tagged',
          CopySource: 'bucket/open/tagged',
          MetadataDirective: 'REPLACE',
          TaggingDirective: 'REPLACE',
          Tagging: 'a=b',
        }),
      ),
    ).rejects.toEqual(taggingDenied('s3:PutObjectTagging'));
    await expect(
      role.send(new PutObjectTaggingCommand({ Bucket: 'bucket', Key: 'open/tagged', Tagging: { TagSet: [{ Key: 'a', Value: 'b' }] } })),
    ).rejects.toEqual(taggingDenied('s3:PutObjectTagging'));
    await expect(role.send(new GetObjectTaggingCommand({ Bucket: 'bucket', Key: 'open/tagged' }))).rejects.toEqual(
      taggingDenied('s3:GetObjectTagging'),
    );
    expect(forwarded().length).toBe(before);
    // Without tags, the same writes are the role's to make.
    await role.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'open/untagged', Body: 'x' }));
    expect(forwarded().slice(before)).toEqual([expect.stringMatching(/^PUT \/bucket\/open\/untagged/)]);
  });

  it('checks every key of a DeleteObjects body, and forwards none when one is refused', async () => {
    const before = forwarded().length;
    await expect(
      role.send(new DeleteObjectsCommand({ Bucket: 'bucket', Delete: { Objects: [{ Key: 'open/a' }, { Key: 'secret/b' }] } })),
    ).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(forwarded().length).toBe(before);
    await role.send(new DeleteObjectsCommand({ Bucket: 'bucket', Delete: { Objects: [{ Key: 'open/a' }, { Key: 'open/b' }] } }));
    expect(forwarded().slice(before)).toEqual([expect.stringMatching(/^POST \/bucket\/?\?delete/)]);
  });

  it('refuses a request signed too long ago, and a presigned URL without its parameters', async () => {
    const skewed = new S3Client({
      endpoint: gateway.endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: 'admin', secretAccessKey: 'admin-secret' },
      maxAttempts: 1,
      systemClockOffset: -20 * 60 * 1000,
    });
    await expect(skewed.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'k', Body: 'x' }))).rejects.toMatchObject({
      name: 'RequestTimeTooSkewed',
    });
    const response = await fetch(`${gateway.endpoint}/bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>AuthorizationQueryParametersError</Code>');
  });
});

describe('s3Operation: the permissions an S3 request needs', () => {
  const need = (method: string, target: string, headers: Record<string, string> = {}) =>
    s3Operation(method, new URL(target, 'http://127.0.0.1'), headers).permissions?.map(
      (permission) => `${permission.action} ${permission.resource}`,
    );

  it('maps object, multipart and bucket operations as Amazon S3 documents them', () => {
    expect(need('GET', '/b/k')).toEqual(['s3:GetObject arn:aws:s3:::b/k']);
    expect(need('HEAD', '/b/k?versionId=v1')).toEqual(['s3:GetObjectVersion arn:aws:s3:::b/k']);
    expect(need('PUT', '/b/a%2Fb%20c')).toEqual(['s3:PutObject arn:aws:s3:::b/a/b c']);
    expect(need('PUT', '/b/k', { 'x-amz-tagging': 'a=b' })).toEqual([
      's3:PutObject arn:aws:s3:::b/k',
      's3:PutObjectTagging arn:aws:s3:::b/k',
    ]);
    expect(need('PUT', '/b/k?tagging')).toEqual(['s3:PutObjectTagging arn:aws:s3:::b/k']);
    expect(need('GET', '/b/k?tagging')).toEqual(['s3:GetObjectTagging arn:aws:s3:::b/k']);
    expect(need('POST', '/b/k?uploads', { 'x-amz-tagging': 'a=b' })).toEqual([
      's3:PutObject arn:aws:s3:::b/k',
      's3:PutObjectTagging arn:aws:s3:::b/k',
    ]);
    expect(need('PUT', '/b/k', { 'x-amz-copy-source': '/b/k', 'x-amz-tagging-directive': 'REPLACE', 'x-amz-tagging': 'a=b' })).toEqual([
      's3:PutObject arn:aws:s3:::b/k',
      's3:PutObjectTagging arn:aws:s3:::b/k',
      's3:GetObject arn:aws:s3:::b/k',
    ]);
    expect(need('PUT', '/b/k', { 'x-amz-copy-source': '/src/o%20k?versionId=3' })).toEqual([
      's3:PutObject arn:aws:s3:::b/k',
      's3:GetObjectVersion arn:aws:s3:::src/o k',
    ]);
    expect(need('POST', '/b/k?uploads')).toEqual(['s3:PutObject arn:aws:s3:::b/k']);
    expect(need('PUT', '/b/k?partNumber=2&uploadId=u')).toEqual(['s3:PutObject arn:aws:s3:::b/k']);
    expect(need('GET', '/b/k?uploadId=u')).toEqual(['s3:ListMultipartUploadParts arn:aws:s3:::b/k']);
    expect(need('DELETE', '/b/k?uploadId=u')).toEqual(['s3:AbortMultipartUpload arn:aws:s3:::b/k']);
    expect(need('POST', '/b/k?uploadId=u')).toEqual(['s3:PutObject arn:aws:s3:::b/k']);
    expect(need('DELETE', '/b/k')).toEqual(['s3:DeleteObject arn:aws:s3:::b/k']);
    expect(need('DELETE', '/b/k?versionId=v')).toEqual(['s3:DeleteObjectVersion arn:aws:s3:::b/k']);
    expect(need('GET', '/b?list-type=2&prefix=p%2F')).toEqual(['s3:ListBucket arn:aws:s3:::b']);
    expect(need('GET', '/b?uploads&prefix=k')).toEqual(['s3:ListBucketMultipartUploads arn:aws:s3:::b']);
    expect(need('GET', '/b?versioning')).toEqual(['s3:GetBucketVersioning arn:aws:s3:::b']);
    expect(need('GET', '/b?versions')).toEqual(['s3:ListBucketVersions arn:aws:s3:::b']);
    expect(need('PUT', '/b')).toEqual(['s3:CreateBucket arn:aws:s3:::b']);
    expect(need('GET', '/')).toEqual(['s3:ListAllMyBuckets *']);
    expect(need('GET', '/b/k?torrent')).toBeUndefined();
  });

  it('gives a listing its s3:prefix, s3:delimiter and s3:max-keys', () => {
    const [listing] = s3Operation('GET', new URL('/b?list-type=2&prefix=a%2F&delimiter=%2F&max-keys=10', 'http://h'), {}).permissions ?? [];
    expect(listing?.context).toMatchObject({ 's3:prefix': 'a/', 's3:delimiter': '/', 's3:max-keys': '10', 'aws:SecureTransport': 'false' });
  });
});
