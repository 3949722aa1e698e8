import { createHash } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud, type Stack } from '../src/index.js';
import { required } from './required.js';

// The local S3 enforces what Amazon S3 enforces for the role's sessions: the signature, the session's
// token and lifetime, and the role's policies as infra/aws-iam's template writes them.

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

function s3As(aws: Stack['aws'], credentials: Credentials, region = aws.region): S3Client {
  // No retries: each refusal is seen as S3 sent it.
  return new S3Client({ endpoint: aws.s3Endpoint, region, forcePathStyle: true, credentials, maxAttempts: 1 });
}

async function roleSession(cloud: LocalCloud, name: string): Promise<Credentials> {
  const { aws } = cloud.stack;
  const sts = new STSClient({ endpoint: aws.stsEndpoint, region: aws.region });
  const assumed = await sts.send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: aws.roleArn,
      RoleSessionName: name,
      WebIdentityToken: await cloud.identity.mintToken({ identity: 'backup' }),
    }),
  );
  const credentials = required(assumed.Credentials, 'credentials from STS');
  return {
    accessKeyId: required(credentials.AccessKeyId, 'AccessKeyId'),
    secretAccessKey: required(credentials.SecretAccessKey, 'SecretAccessKey'),
    sessionToken: required(credentials.SessionToken, 'SessionToken'),
  };
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('S3 accepted a request it should refuse');
    },
    (error: { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }) => ({
      code: error.name,
      status: error.$metadata?.httpStatusCode,
      message: error.message,
    }),
  );

describe('the local S3 gateway (in front of moto)', () => {
  let cloud: LocalCloud;
  let aws: Stack['aws'];
  let administrator: S3Client;
  let role: S3Client;
  let session: Credentials;

  beforeAll(async () => {
    cloud = await startLocalCloud({ log: () => undefined });
    aws = cloud.stack.aws;
    administrator = s3As(aws, { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey });
    session = await roleSession(cloud, 'gateway-test');
    role = s3As(aws, session);
  });

  afterAll(async () => {
    await cloud?.stop();
  });

  it('issues each session a key pair of its own', async () => {
    const other = await roleSession(cloud, 'another');
    expect(session.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(other.accessKeyId).not.toBe(session.accessKeyId);
    expect(session.accessKeyId).not.toBe(aws.emulatorAccessKeyId);
  });

  it('keeps a client connection open from request to request, as S3 does, though moto closes each of its own', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    let connections = 0;
    const createConnection = agent.createConnection.bind(agent);
    agent.createConnection = (...args: Parameters<Agent['createConnection']>) => {
      connections += 1;
      return createConnection(...args);
    };
    const s3 = new S3Client({
      endpoint: aws.s3Endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: session,
      maxAttempts: 1,
      requestHandler: { httpAgent: agent },
    });
    try {
      for (const key of ['gateway/keep-alive-1', 'gateway/keep-alive-2']) {
        await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: key }));
        expect(await (await s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key }))).Body?.transformToString()).toBe(key);
      }
      expect(connections).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('answers a GET and a HEAD without the Content-MD5 their PUT sent, as S3 does (moto keeps and repeats it)', async () => {
    const key = 'gateway/content-md5';
    const body = 'checked once';
    const answered: Array<Record<string, string>> = [];
    const client = s3As(aws, session);
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        answered.push((result.response as { headers: Record<string, string> }).headers);
        return result;
      },
      { step: 'deserialize', name: 'answerHeaders' },
    );
    try {
      await client.send(
        new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: body, ContentMD5: createHash('md5').update(body).digest('base64') }),
      );
      await client.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key, ChecksumMode: 'ENABLED' }));
      const read = await client.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key, ChecksumMode: 'ENABLED' }));
      expect(await read.Body?.transformToString()).toBe(body);
      expect(answered).toHaveLength(3);
      for (const headers of answered.slice(1)) {
        expect(headers['etag']).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
        expect(headers).not.toHaveProperty('content-md5');
        expect(headers).not.toHaveProperty('x-amz-content-sha256');
      }
    } finally {
      client.destroy();
    }
  });

  it('lets a role session do what the role grants: write, read back, list, and resume a multipart upload', async () => {
    const key = 'gateway/granted.bin';
    await role.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'backup' }));
    expect((await role.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: key }))).ContentLength).toBe(6);
    expect(await (await role.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key }))).Body?.transformToString()).toBe('backup');
    const listed = await role.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: 'gateway/' }));
    expect(listed.Contents?.map((object) => object.Key)).toContain(key);

    const multipartKey = 'gateway/multipart.bin';
    const { UploadId } = await role.send(new CreateMultipartUploadCommand({ Bucket: aws.bucket, Key: multipartKey }));
    const part = await role.send(
      new UploadPartCommand({ Bucket: aws.bucket, Key: multipartKey, UploadId, PartNumber: 1, Body: 'only part' }),
    );
    const uploads = await role.send(new ListMultipartUploadsCommand({ Bucket: aws.bucket, Prefix: multipartKey }));
    expect(uploads.Uploads?.map((upload) => upload.UploadId)).toContain(UploadId);
    expect((await role.send(new ListPartsCommand({ Bucket: aws.bucket, Key: multipartKey, UploadId }))).Parts).toHaveLength(1);
    await role.send(
      new CompleteMultipartUploadCommand({
        Bucket: aws.bucket,
        Key: multipartKey,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const abandoned = await role.send(new CreateMultipartUploadCommand({ Bucket: aws.bucket, Key: multipartKey }));
    await role.send(new AbortMultipartUploadCommand({ Bucket: aws.bucket, Key: multipartKey, UploadId: abandoned.UploadId }));
  });

  it('lets a role session tag the objects it writes (with the object, on their own, in an in-place copy) and read their tags', async () => {
    const key = 'gateway/tagged.bin';
    await role.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'tagged', Tagging: 'project=blue%20sky' }));
    const tagsOf = async () => (await role.send(new GetObjectTaggingCommand({ Bucket: aws.bucket, Key: key }))).TagSet;
    expect(await tagsOf()).toEqual([{ Key: 'project', Value: 'blue sky' }]);
    await role.send(new PutObjectTaggingCommand({ Bucket: aws.bucket, Key: key, Tagging: { TagSet: [{ Key: 'team', Value: 'ops' }] } }));
    expect(await tagsOf()).toEqual([{ Key: 'team', Value: 'ops' }]);
    await role.send(
      new CopyObjectCommand({
        Bucket: aws.bucket,
        Key: key,
        CopySource: `${aws.bucket}/${key}`,
        MetadataDirective: 'REPLACE',
        Metadata: { note: 'in place' },
        TaggingDirective: 'REPLACE',
        Tagging: 'state=copied',
      }),
    );
    expect(await tagsOf()).toEqual([{ Key: 'state', Value: 'copied' }]);
    const { UploadId } = await role.send(
      new CreateMultipartUploadCommand({ Bucket: aws.bucket, Key: 'gateway/tagged-multipart.bin', Tagging: 'a=b' }),
    );
    await role.send(new AbortMultipartUploadCommand({ Bucket: aws.bucket, Key: 'gateway/tagged-multipart.bin', UploadId }));
  });

  it('refuses a role session what the role does not grant, naming the caller, the action and the resource', async () => {
    const caller = `arn:aws:sts::000000000000:assumed-role/blobferry-backup/gateway-test`;
    // AllowDeleteMarkers is false by default: no delete, no versioning read.
    const deleted = await refusal(role.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: 'gateway/granted.bin' })));
    expect(deleted).toMatchObject({ code: 'AccessDenied', status: 403 });
    expect(deleted.message).toBe(
      `User: ${caller} is not authorized to perform: s3:DeleteObject on resource: "arn:aws:s3:::${aws.bucket}/gateway/granted.bin" because no identity-based policy allows the s3:DeleteObject action`,
    );
    expect(await refusal(role.send(new GetBucketVersioningCommand({ Bucket: aws.bucket })))).toMatchObject({
      code: 'AccessDenied',
      status: 403,
    });
    expect(
      await refusal(role.send(new PutBucketVersioningCommand({ Bucket: aws.bucket, VersioningConfiguration: { Status: 'Suspended' } }))),
    ).toMatchObject({
      code: 'AccessDenied',
    });
    // Another bucket of the same account: the administrator may create and write it, the role may not touch it.
    await administrator.send(new CreateBucketCommand({ Bucket: 'gateway-other' }));
    await administrator.send(new PutObjectCommand({ Bucket: 'gateway-other', Key: 'x', Body: 'x' }));
    const elsewhere = await refusal(role.send(new GetObjectCommand({ Bucket: 'gateway-other', Key: 'x' })));
    expect(elsewhere.message).toContain('s3:GetObject on resource: "arn:aws:s3:::gateway-other/x"');
    expect(await refusal(role.send(new PutObjectCommand({ Bucket: 'gateway-other', Key: 'y', Body: 'y' })))).toMatchObject({
      code: 'AccessDenied',
    });
    // Whether a bucket exists is public: anyone is told NoSuchBucket, as S3 does.
    expect(await refusal(role.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })))).toMatchObject({
      code: 'NoSuchBucket',
      status: 404,
    });
  });

  it('refuses a wrong signature, an unknown key, a session key without its token, and the wrong region', async () => {
    const put = (client: S3Client) => client.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'gateway/refused.bin', Body: 'x' }));
    expect(await refusal(put(s3As(aws, { ...session, secretAccessKey: `${session.secretAccessKey}x` })))).toMatchObject({
      code: 'SignatureDoesNotMatch',
      status: 403,
    });
    expect(await refusal(put(s3As(aws, { ...session, accessKeyId: 'ASIAUNKNOWNUNKNOWN00' })))).toMatchObject({
      code: 'InvalidAccessKeyId',
      status: 403,
    });
    expect(await refusal(put(s3As(aws, { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey })))).toMatchObject({
      code: 'InvalidToken',
      status: 400,
    });
    expect(await refusal(put(s3As(aws, session, 'eu-west-1')))).toMatchObject({ code: 'AuthorizationHeaderMalformed', status: 400 });
    await expect(role.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'gateway/refused.bin' }))).rejects.toMatchObject({
      name: 'NotFound',
    });
  });

  it('refuses an anonymous request', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const url = new URL(`${aws.s3Endpoint}/${aws.bucket}/gateway/granted.bin`);
      httpRequest(url, (response) => {
        response.resume();
        resolve(response.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(403);
  });

  it('answers ExpiredToken once the session has expired, and a new session works again', async () => {
    cloud.sts.issueSessionsOf(1);
    try {
      const shortLived = s3As(aws, await roleSession(cloud, 'short-lived'));
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect(await refusal(shortLived.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'gateway/granted.bin' })))).toMatchObject({
        status: 400,
      });
      expect(await refusal(shortLived.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'gateway/granted.bin' })))).toMatchObject({
        code: 'ExpiredToken',
        status: 400,
      });
    } finally {
      cloud.sts.issueSessionsOf(undefined);
    }
    const renewed = s3As(aws, await roleSession(cloud, 'renewed'));
    expect((await renewed.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'gateway/granted.bin' }))).ContentLength).toBe(6);
  });
});

describe('role: { allowDeleteMarkers: true }', () => {
  it('grants what the template grants with AllowDeleteMarkers=true: delete markers and the versioning read', async () => {
    const cloud = await startLocalCloud({ role: { allowDeleteMarkers: true }, log: () => undefined });
    try {
      const { aws } = cloud.stack;
      const role = s3As(aws, await roleSession(cloud, 'deleter'));
      await role.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'gateway/marked.bin', Body: 'x' }));
      expect((await role.send(new GetBucketVersioningCommand({ Bucket: aws.bucket }))).Status).toBe('Enabled');
      const marker = await role.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: 'gateway/marked.bin' }));
      expect(marker.DeleteMarker).toBe(true);
      // Removing a version for good (s3:DeleteObjectVersion) is never granted.
      const versionId = required(marker.VersionId, 'delete marker version');
      expect(
        await refusal(role.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: 'gateway/marked.bin', VersionId: versionId }))),
      ).toMatchObject({
        code: 'AccessDenied',
      });
    } finally {
      await cloud.stop();
    }
  });
});
