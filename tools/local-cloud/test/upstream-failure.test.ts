import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoleSessions } from '../src/iam/sessions.js';
import { startLocalCloud, type LocalCloud } from '../src/index.js';
import { startIamGateway, type IamGateway } from '../src/s3/iam-gateway.js';

// When what stands behind the S3 gateway fails, the AWS SDK must read what S3 answers when its own back end
// fails (503 ServiceUnavailable in S3's XML, with request ids), never a body it cannot parse; and the Azure
// SDK what Azure Storage answers (503 ServerBusy).

const REGION = 'us-east-1';
const ADMIN = { accessKeyId: 'admin', secretAccessKey: 'admin-secret' };

const listen = <T extends Server | TcpServer>(server: T) =>
  new Promise<T>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
const origin = (server: Server | TcpServer) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function gatewayTo(upstream: string): Promise<{ gateway: IamGateway; s3: S3Client }> {
  const gateway = await startIamGateway({
    upstream,
    region: REGION,
    accountId: '000000000000',
    administrator: ADMIN,
    sessions: new RoleSessions(),
    roles: [],
    log: () => undefined,
  });
  return {
    gateway,
    s3: new S3Client({ endpoint: gateway.endpoint, region: REGION, forcePathStyle: true, credentials: ADMIN, maxAttempts: 1 }),
  };
}

/** What the SDK threw, for matching: S3's error code as its name, the status, and the request ids it read. */
async function failureOf(attempt: Promise<unknown>) {
  const error = await attempt.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(S3ServiceException);
  const { name, $metadata } = error as S3ServiceException;
  return { name, status: $metadata.httpStatusCode, requestId: $metadata.requestId, extendedRequestId: $metadata.extendedRequestId };
}

const SERVICE_UNAVAILABLE = {
  name: 'ServiceUnavailable',
  status: 503,
  requestId: expect.stringMatching(/^[0-9A-F]{16}$/),
  extendedRequestId: expect.any(String),
};

describe('the S3 gateway when the emulator behind it fails', () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  it('answers 503 ServiceUnavailable in S3 XML when the emulator refuses connections, for reads and uploads', async () => {
    // A port nothing listens on: the kernel refuses the connection.
    const closed = await listen(createHttpServer());
    const refused = origin(closed);
    await new Promise((resolve) => closed.close(resolve));
    const { gateway, s3 } = await gatewayTo(refused);
    closers.push(() => gateway.close());

    expect(await failureOf(s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'a.txt' })))).toEqual(SERVICE_UNAVAILABLE);
    expect(await failureOf(s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'b.bin', Body: Buffer.alloc(256 * 1024, 1) })))).toEqual(
      SERVICE_UNAVAILABLE,
    );
  });

  it('answers 503 ServiceUnavailable when the emulator accepts the connection and drops it', async () => {
    const dropping = await listen(createTcpServer((socket) => socket.destroy()));
    closers.push(() => new Promise((resolve) => dropping.close(resolve)));
    const { gateway, s3 } = await gatewayTo(origin(dropping));
    closers.push(() => gateway.close());
    expect(await failureOf(s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'a.txt' })))).toEqual(SERVICE_UNAVAILABLE);
  });

  it("answers S3's InternalError for an emulator's 500 that is not XML, and cuts a body the emulator cut", async () => {
    const broken = await listen(
      createHttpServer((request, response) => {
        request.resume();
        if (request.url?.includes('html')) {
          response.writeHead(500, { 'content-type': 'text/html' }).end('<html><body>Internal Server Error</body></html>');
          return;
        }
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 1000 });
        response.write(Buffer.alloc(100));
        setTimeout(() => response.destroy(), 50);
      }),
    );
    closers.push(() => new Promise((resolve) => broken.close(resolve)));
    const { gateway, s3 } = await gatewayTo(origin(broken));
    closers.push(() => gateway.close());

    expect(await failureOf(s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'html' })))).toEqual({
      ...SERVICE_UNAVAILABLE,
      name: 'InternalError',
      status: 500,
    });
    const cut = await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'cut.bin' }));
    await expect(cut.Body?.transformToByteArray()).rejects.toThrow();
  });
});

describe('a local cloud whose emulators died', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud({ log: () => undefined });
    // Kill moto and Azurite's blob service (each leads its own process group); the fronts stay up.
    const [azuriteBlob, , moto] = cloud.childPids;
    for (const pid of [azuriteBlob, moto]) if (pid !== undefined) process.kill(-pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
  });
  afterAll(() => cloud?.stop());

  it('answers the AWS SDK 503 ServiceUnavailable from the S3 endpoint (moto is gone)', async () => {
    const { aws } = cloud.stack;
    const s3 = new S3Client({
      endpoint: aws.s3Endpoint,
      region: aws.region,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
    });
    expect(await failureOf(s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'any.txt' })))).toEqual(SERVICE_UNAVAILABLE);
  });

  it('answers the Azure SDK 503 ServerBusy from the blob endpoint (Azurite is gone)', async () => {
    const blob = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString, { retryOptions: { maxTries: 1 } })
      .getContainerClient(cloud.stack.azure.sourceContainer)
      .getBlobClient('any.txt');
    const error = await blob.getProperties().then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    // A HEAD answer has no body: the SDK reads the code from x-ms-error-code, as it does Azure's.
    expect(error).toBeInstanceOf(RestError);
    expect(error).toMatchObject({ statusCode: 503, details: { errorCode: 'ServerBusy' } });
    const download = await blob.download().catch((thrown: unknown) => thrown);
    expect(download).toMatchObject({
      statusCode: 503,
      code: 'ServerBusy',
      details: { errorCode: 'ServerBusy', 'x-ms-request-id': expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
  });
});
