import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ContainerClient } from '@azure/storage-blob';
import { FederatedCredentialsError } from '@blobferry/federated-credentials';
import { KeyTooLongError, SourceChangedError, SourceNotFoundError, UnsafeDeleteError } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SourceAccountMismatchError } from '../src/clients.js';
import { classifyFailure } from '../src/failure-model.js';

// The errors the SDKs really throw, against a port nothing listens on and a server that answers as S3 and
// Azure Storage do when they fail, classified by the one failure model.

let closedPort: number;
let failing: Server;
let failingUrl: string;
/** The answer the failing server gives next: status, S3/Azure error code. */
let answer = { status: 503, code: 'SlowDown' };

beforeAll(async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  failing = createServer((request, response) => {
    request.resume();
    const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${answer.code}</Code><Message>failing</Message></Error>`;
    response.writeHead(answer.status, { 'content-type': 'application/xml', 'x-ms-error-code': answer.code });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => failing?.close(resolve)));

async function s3ErrorAt(endpoint: string): Promise<unknown> {
  const s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  });
  try {
    await s3.send(new HeadObjectCommand({ Bucket: 'bucket', Key: 'key' }));
    throw new Error('expected a failure');
  } catch (error) {
    return error;
  } finally {
    s3.destroy();
  }
}

async function azureErrorAt(origin: string): Promise<unknown> {
  const container = new ContainerClient(`${origin}/devstoreaccount1/source`, undefined, { retryOptions: { maxTries: 1 } });
  try {
    await container.getBlobClient('a.txt').getProperties();
    throw new Error('expected a failure');
  } catch (error) {
    return error;
  }
}

describe('classifyFailure', () => {
  it('names S3 and the cause when S3 refuses connections or answers 503', async () => {
    expect(classifyFailure(await s3ErrorAt(`http://127.0.0.1:${closedPort}`))).toEqual({
      rule: 'transient',
      dependency: 's3',
      cause: 'S3: connection refused (ECONNREFUSED)',
    });
    answer = { status: 503, code: 'SlowDown' };
    // A HEAD answer has no body: the SDK names the error by its status.
    expect(classifyFailure(await s3ErrorAt(failingUrl))).toMatchObject({
      rule: 'transient',
      dependency: 's3',
      cause: expect.stringMatching(/^S3: 503 /),
    });
    answer = { status: 403, code: 'AccessDenied' };
    expect(classifyFailure(await s3ErrorAt(failingUrl))).toMatchObject({
      rule: 'transient',
      dependency: 's3',
      cause: expect.stringMatching(/^S3: 403 /),
    });
  });

  it('names the source when Azure Storage refuses connections, answers 503 or denies', async () => {
    expect(classifyFailure(await azureErrorAt(`http://127.0.0.1:${closedPort}`))).toEqual({
      rule: 'transient',
      dependency: 'source',
      cause: 'source: connection refused (ECONNREFUSED)',
    });
    answer = { status: 503, code: 'ServerBusy' };
    expect(classifyFailure(await azureErrorAt(failingUrl))).toEqual({
      rule: 'transient',
      dependency: 'source',
      cause: 'source: 503 ServerBusy',
    });
    answer = { status: 403, code: 'AuthorizationPermissionMismatch' };
    expect(classifyFailure(await azureErrorAt(failingUrl))).toEqual({
      rule: 'transient',
      dependency: 'source',
      cause: 'source: 403 AuthorizationPermissionMismatch',
    });
  });

  it('names STS for a credentials failure, a broken trust policy included', () => {
    expect(classifyFailure(new FederatedCredentialsError('AccessDenied', 'STS refused'))).toEqual({
      rule: 'transient',
      dependency: 'sts',
      cause: 'STS: AccessDenied',
    });
    expect(classifyFailure(new FederatedCredentialsError('StsUnavailable', 'no answer'))).toMatchObject({
      rule: 'transient',
      dependency: 'sts',
    });
  });

  it('retries a copy that the world moved under, and a delete the bucket does not allow yet, without blaming a dependency', () => {
    expect(classifyFailure(new SourceChangedError('overwritten'))).toMatchObject({ rule: 'transient', dependency: undefined });
    expect(classifyFailure(new UnsafeDeleteError('versioning Suspended'))).toMatchObject({ rule: 'transient', dependency: undefined });
  });

  it('decides permanent failures at once: facts about the blob that another attempt reads again', () => {
    for (const error of [
      new SourceNotFoundError('gone'),
      new KeyTooLongError('k', 1025),
      new SourceAccountMismatchError('other account'),
    ]) {
      expect(classifyFailure(error)).toEqual({ rule: 'permanent' });
    }
  });

  it('leaves the rest unclassified, for the runtime and the poison queue', async () => {
    expect(classifyFailure(new TypeError('a bug'))).toEqual({ rule: 'unclassified', cause: 'TypeError' });
    answer = { status: 400, code: 'InvalidArgument' };
    expect(classifyFailure(await s3ErrorAt(failingUrl))).toMatchObject({ rule: 'unclassified', cause: expect.stringMatching(/^S3: 400 /) });
  });
});
