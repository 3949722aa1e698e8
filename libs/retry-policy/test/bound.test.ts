// The stated bound, held against the real SDK clients configured with the policy: a server that always
// fails gets exactly the number of tries policy.ts states, within the stated waiting time.
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { AnonymousCredential, BlobClient } from '@azure/storage-blob';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { AZURE_STORAGE_RETRY, S3_RETRY, STS_RETRY } from '../src/index.js';

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers.splice(0)) server.close();
});

/** A server answering every request with `status`; counts the requests. */
async function failingServer(status: number): Promise<{ endpoint: string; requests: () => number }> {
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    request.resume();
    request.on('end', () => response.writeHead(status, { 'content-length': '0' }).end());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => requests };
}

async function timed(work: Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work.catch(() => undefined);
  return (performance.now() - started) / 1000;
}

describe.concurrent('the retry policy on the real SDK clients', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

  it('tries one failing S3 request 7 times, within 3.15 s of waiting for 5xx answers', async () => {
    const server = await failingServer(500);
    const s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials, ...S3_RETRY });
    const seconds = await timed(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })));
    expect(server.requests()).toBe(7);
    expect(seconds).toBeLessThan(3.15 + 2);
  });

  it('tries a refused S3 request once', async () => {
    const server = await failingServer(403);
    const s3 = new S3Client({ endpoint: server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials, ...S3_RETRY });
    await expect(s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    expect(server.requests()).toBe(1);
  });

  it('tries one failing STS request 5 times', async () => {
    const server = await failingServer(500);
    const sts = new STSClient({ endpoint: server.endpoint, region: 'us-east-1', ...STS_RETRY });
    await timed(
      sts.send(
        new AssumeRoleWithWebIdentityCommand({ RoleArn: 'arn:aws:iam::123456789012:role/r', RoleSessionName: 's', WebIdentityToken: 't' }),
      ),
    );
    expect(server.requests()).toBe(5);
  });

  it('tries one failing Azure Storage request 7 times, waiting 11.4 s in all', async () => {
    const server = await failingServer(500);
    const blob = new BlobClient(`${server.endpoint}/account/container/blob`, new AnonymousCredential(), {
      retryOptions: AZURE_STORAGE_RETRY,
    });
    const seconds = await timed(blob.getProperties());
    expect(server.requests()).toBe(7);
    expect(seconds).toBeGreaterThanOrEqual(11.4);
    expect(seconds).toBeLessThan(11.4 + 3);
  });
});
