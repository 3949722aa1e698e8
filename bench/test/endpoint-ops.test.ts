import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { CURL, requireTool } from '@blobferry/test-support';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureContainer, s3Client } from '../src/clients.ts';
import { azureAuth, azureReads, curlReadAll, curlReadBlobs, s3Auth, s3Reads } from '../src/curl-reads.ts';
import {
  endpointsFor,
  listBlobs,
  listObjects,
  queueDepthReader,
  writeObjects,
  writeObjectsOfSizes,
  type Endpoints,
} from '../src/endpoint-ops.ts';
import { uploadBlobsOfSizes, uploadSmallBlobs } from '../src/seed.ts';
import { signS3 } from '../src/thin-http.ts';

// The limits are measured with a thin client (the SDK's SigV4 signer, SAS, raw node:http) and with curl: prove both
// against the real emulators, since a limit from requests the endpoint refused or cut short means nothing.

const MiB = 1024 * 1024;
// curl measures the read limits (a bench prerequisite like GNU time), found on PATH: missing fails in CI, warns elsewhere.
const curl = requireTool(CURL);
let cloud: LocalCloud;
let e: Endpoints;
let workDir: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'bench-endpoint-ops-'));
  // The bench's default S3 (main.ts --s3): s3rver refuses an unknown key id, which moto (local-cloud's default) does not check.
  cloud = await startLocalCloud({ s3: 's3rver', log: () => undefined });
  e = endpointsFor(cloud.stack, 4);
  const container = azureContainer(cloud.stack, 'thin');
  await container.createIfNotExists();
  await uploadSmallBlobs({ container, names: ['a/1', 'a/2', 'b/ü 3'], size: 3 * MiB + 5, concurrency: 3 });
});

afterAll(async () => {
  e.agent.destroy();
  await cloud.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('thin endpoint client', () => {
  curl.it('reads blobs with curl, whole and in ranges, counting every byte once', async () => {
    const blobs = ['a/1', 'a/2', 'b/ü 3'].map((name) => ({ name, size: 3 * MiB + 5 }));
    const expectBytes = 3 * (3 * MiB + 5);
    const whole = await curlReadAll({
      reads: azureReads(cloud.stack, 'thin', blobs),
      concurrency: 2,
      auth: azureAuth(),
      workDir,
      expectBytes,
    });
    expect(whole.bytes).toBe(expectBytes);
    const ranged = azureReads(cloud.stack, 'thin', blobs, MiB);
    expect(ranged).toHaveLength(12);
    expect(ranged[3]?.range).toBe(`${3 * MiB}-${3 * MiB + 4}`);
    await expect(curlReadAll({ reads: ranged, concurrency: 4, auth: azureAuth(), workDir, expectBytes })).resolves.toMatchObject({
      bytes: expectBytes,
    });
    // A read that comes back short is an error, not a fast limit.
    await expect(curlReadAll({ reads: ranged, concurrency: 4, auth: azureAuth(), workDir, expectBytes: expectBytes + 1 })).rejects.toThrow(
      /expected/,
    );
  });

  it('lists blobs by prefix', async () => {
    await expect(listBlobs({ e, container: 'thin', prefixes: ['a/', 'b/'], concurrency: 2 })).resolves.toBe(3);
  });

  it('writes single and multipart objects S3 accepts, then lists and reads them back', async () => {
    await writeObjects({ e, keyPrefix: 'thin/small/', count: 3, size: 1000, partSize: 5 * MiB, concurrency: 2 });
    await writeObjects({ e, keyPrefix: 'thin/large/', count: 1, size: 12 * MiB, partSize: 5 * MiB, concurrency: 2 });
    const s3 = s3Client(cloud.stack);
    const head = await s3.send(new HeadObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: 'thin/large/0' }));
    expect(head.ContentLength).toBe(12 * MiB);
    await expect(listObjects({ e, prefixes: ['thin/small/', 'thin/large/'], concurrency: 2 })).resolves.toBe(4);
  });

  curl.it('reads S3 objects back with curl (SigV4)', async () => {
    await writeObjects({ e, keyPrefix: 'thin/curl/', count: 2, size: 6 * MiB, partSize: 5 * MiB, concurrency: 2 });
    const reads = s3Reads(cloud.stack, ['thin/curl/0', 'thin/curl/1']);
    await expect(curlReadAll({ reads, concurrency: 2, auth: s3Auth(cloud.stack), workDir, expectBytes: 12 * MiB })).resolves.toMatchObject({
      bytes: 12 * MiB,
    });
    const wrongCurl = { ...s3Auth(cloud.stack), sigv4: { region: 'us-east-1', accessKeyId: 'NOT-A-KEY', secretAccessKey: 'x' } };
    await expect(curlReadAll({ reads, concurrency: 1, auth: wrongCurl, workDir, expectBytes: 12 * MiB })).rejects.toThrow(/exited with 22/);
  });

  it('signs as the AWS SDK signer does, over the URL it sends', async () => {
    // s3rver checks only the key id of a SigV4 request, so the signatures are checked against known ones: those the
    // SDK's SignatureV4 gave for these requests when thin-http still signed by hand (and matched it).
    const now = new Date('2026-01-02T03:04:05Z');
    const target = { endpoint: 'http://127.0.0.1:4568', region: 'us-east-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret/key+1' };
    const scope = 'Credential=AKIDEXAMPLE/20260102/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date';
    const list = await signS3(
      target,
      'GET',
      'bucket/some key/ü',
      { 'list-type': '2', prefix: 'a b/ü', 'continuation-token': 'x=y&z' },
      now,
    );
    expect(list.url.href).toBe(
      'http://127.0.0.1:4568/bucket/some%20key/%C3%BC?continuation-token=x%3Dy%26z&list-type=2&prefix=a%20b%2F%C3%BC',
    );
    expect(list.headers).toEqual({
      host: '127.0.0.1:4568',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-date': '20260102T030405Z',
      authorization: `AWS4-HMAC-SHA256 ${scope}, Signature=262e2d10b636bb80e9ac72262a7f925ddb6ea6efbef87d2db7cf484203efb59b`,
    });
    const create = await signS3(target, 'POST', "bucket/k(1)*!'~.bin", { uploads: '' }, now);
    expect(create.url.href).toBe('http://127.0.0.1:4568/bucket/k%281%29%2A%21%27~.bin?uploads=');
    expect(create.headers.authorization).toBe(
      `AWS4-HMAC-SHA256 ${scope}, Signature=9af3773fcc39b4c8f85949c0a438d6bf4131d43329cd975dd7c091aab88d158d`,
    );
  });

  it('writes a set of mixed sizes (empty, single PUT, multipart) with the size of each', async () => {
    const sizes = [0, 1000, 12 * MiB, 5 * MiB];
    await expect(
      writeObjectsOfSizes({ e, keyPrefix: 'thin/mixed/', sizes, partSize: 5 * MiB, filesInFlight: 3, partsInFlight: 2 }),
    ).resolves.toBe(17 * MiB + 1000);
    const s3 = s3Client(cloud.stack);
    for (const [index, size] of sizes.entries()) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: `thin/mixed/${index}` }));
      expect(head.ContentLength).toBe(size);
    }
    s3.destroy();
  });

  curl.it('seeds blobs of mixed sizes (blocks above 8 MiB) that curl reads back whole and in ranges', async () => {
    const container = azureContainer(cloud.stack, 'mixed');
    await container.createIfNotExists();
    const blobs = [
      { name: 'm/empty', size: 0 },
      { name: 'm/small', size: 1234 },
      { name: 'm/large', size: 9 * MiB + 7 },
    ];
    const seeded = await uploadBlobsOfSizes({ container, blobs, concurrency: 2 });
    expect(seeded.map((blob) => blob.size)).toEqual([0, 1234, 9 * MiB + 7]);
    expect(seeded.every((blob) => blob.etag && blob.md5Base64)).toBe(true);
    const reads = [...azureReads(cloud.stack, 'mixed', blobs.slice(0, 2)), ...azureReads(cloud.stack, 'mixed', blobs.slice(2), 4 * MiB)];
    expect(reads).toHaveLength(5);
    await expect(
      curlReadAll({ reads, concurrency: 3, auth: azureAuth(), workDir, expectBytes: 9 * MiB + 7 + 1234 }),
    ).resolves.toMatchObject({ bytes: 9 * MiB + 7 + 1234 });
    // The scenarios' Azure read limit: the same reads (blobs over a part in part-sized ranges), every byte counted.
    await expect(
      curlReadBlobs({ stack: cloud.stack, container: 'mixed', blobs, partSize: 4 * MiB, concurrency: 3, workDir }),
    ).resolves.toMatchObject({
      bytes: 9 * MiB + 7 + 1234,
    });
  });

  it("reads the backup queue's length with an account SAS, and refuses a queue that does not exist", async () => {
    const queue = queueDepthReader(cloud.stack, cloud.stack.events.queueName);
    const missing = queueDepthReader(cloud.stack, 'no-such-queue');
    try {
      await expect(queue.depth()).resolves.toBe(0);
      await expect(missing.depth()).rejects.toThrow(/answered 404/);
    } finally {
      queue.close();
      missing.close();
    }
  });

  it('is refused by S3 with a key id it does not know', async () => {
    const wrong: Endpoints = { ...e, s3: { ...e.s3, accessKeyId: 'NOT-A-KEY' } };
    await expect(listObjects({ e: wrong, prefixes: ['thin/'], concurrency: 1 })).rejects.toThrow(/answered 403/);
  });
});
