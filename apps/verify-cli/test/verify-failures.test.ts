// How `blobferry verify` fails: one object's failed request is an `error` difference and the run goes on
// (exit 1); an endpoint that stops answering mid-run ends it with exit 3 and what to check. Also the repair
// of a corrupt object in place, proved on a versioned bucket (a delete would leave a delete marker).
import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { S3_RETRY } from '@blobferry/retry-policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobferry, seedBackedUp, startLocalBackup, type LocalBackup } from './helpers/local-backup.js';

let backup: LocalBackup;

beforeAll(async () => {
  backup = await startLocalBackup({ faultProxy: true });
}, 120_000);

afterAll(async () => {
  await backup?.stop();
});

interface JsonReport {
  summary: Record<string, number | string>;
  differences: {
    key: string;
    kind: string;
    error?: { service: string; operation: string; status?: number; reason: string };
    repair?: Record<string, unknown>;
  }[];
}

const verify = (container: string, ...flags: string[]) =>
  blobferry(['verify', '--local', '--stack', backup.stackFile, '--container', container, '--no-progress', ...flags]);

const faults = () => {
  if (!backup.cloud.faults) throw new Error('the local cloud runs without its fault proxy');
  return backup.cloud.faults;
};

/**
 * Seeds backed-up blobs, then overwrites each blob with other bytes of the same length: the listings no
 * longer agree on an MD5, so verify HEADs every object (and finds it stale).
 */
/**
 * Backed-up blobs written again with other bytes of the same size, as a block list with no Content-MD5: the listings
 * cannot decide them, so verify HEADs each object for its recorded version. (With an MD5 on the blob, a rewrite in a
 * later second than the backup is called stale from the listings alone, and no HEAD is sent on a slow machine.)
 */
async function seedNeedingHead(container: string, names: string[]): Promise<void> {
  await seedBackedUp(backup, container, Object.fromEntries(names.map((name) => [name, `bytes of ${name}`])));
  for (const name of names) {
    const blob = backup.containerClient(container).getBlockBlobClient(name);
    const blockId = Buffer.from('block-0').toString('base64');
    const bytes = Buffer.from(`BYTES of ${name}`);
    await blob.stageBlock(blockId, bytes, bytes.length);
    await blob.commitBlockList([blockId]);
  }
}

/**
 * An HTTP proxy in front of S3 that forwards listings and goes dark at the first request for an object:
 * that connection is cut and the port refuses connections from then on (an endpoint lost mid-run).
 */
async function darkAfterListing(upstream: string): Promise<{ endpoint: string; close(): Promise<void> }> {
  const target = new URL(upstream);
  const sockets = new Set<Socket>();
  let dark = false;
  const server: Server = createServer((request, response) => {
    const isListing = (request.url ?? '').includes('list-type=2');
    if (dark || !isListing) {
      dark = true;
      server.close();
      for (const socket of sockets) socket.destroy();
      return;
    }
    const outgoing = httpRequest(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on('error', () => response.destroy());
    request.pipe(outgoing);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}

describe('blobferry verify when requests fail', () => {
  it('reports a HEAD refused with 403 on one object as an error difference with the reason, classifies the others, exits 1', async () => {
    await seedNeedingHead('refused', ['a.txt', 'b.txt', 'c.txt']);
    await seedBackedUp(backup, 'refused', { 'in-sync.txt': 'untouched' });
    const refusedKey = backup.keyOf('refused', 'b.txt');
    faults().failNext({ service: 's3', method: 'HEAD', pathIncludes: refusedKey, status: 403 });

    const result = await verify('refused', '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.summary).toMatchObject({ inSync: 1, stale: 2, error: 1, remaining: 3 });
    const kinds = Object.fromEntries(report.differences.map((difference) => [difference.key, difference.kind]));
    expect(kinds).toEqual({
      [backup.keyOf('refused', 'a.txt')]: 'stale',
      [refusedKey]: 'error',
      [backup.keyOf('refused', 'c.txt')]: 'stale',
    });
    const refused = report.differences.find((difference) => difference.kind === 'error');
    expect(refused?.error).toMatchObject({ service: 's3', operation: 'head', status: 403 });
    expect(refused?.error?.reason).toMatch(/^S3 HEAD answered 403 Forbidden$/);

    // The same in the table, with the reason on the row; without the fault the object is classified again.
    faults().failNext({ service: 's3', method: 'HEAD', pathIncludes: refusedKey, status: 403 });
    const table = await verify('refused');
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^error\s+\d+\s+\d+\s+\S+b\.txt\s+S3 HEAD answered 403 Forbidden$/m);
    expect(table.stdout).toMatch(/^error\s+1$/m);
    expect(JSON.parse((await verify('refused', '--json')).stdout).summary).toMatchObject({ stale: 3, error: 0 });
  });

  it('reports a blob gone while --deep reads it as an error difference and goes on', async () => {
    await seedBackedUp(backup, 'vanishing', { 'stays.txt': 'stays', 'goes.txt': 'goes' });
    // The digest opens the blob with its first ranged GET: Azure answers 404 as for a blob deleted mid-run.
    faults().failNext({ service: 'azure', method: 'GET', pathIncludes: 'vanishing/goes.txt', status: 404 });
    const result = await verify('vanishing', '--deep', '--json');
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.summary).toMatchObject({ inSync: 1, error: 1 });
    expect(report.differences).toHaveLength(1);
    expect(report.differences[0]).toMatchObject({
      key: backup.keyOf('vanishing', 'goes.txt'),
      kind: 'error',
      error: { service: 'azure', operation: 'digest', status: 404 },
    });
    expect(report.differences[0]?.error?.reason).toMatch(/deleted during the run/);
  });

  it('with --repair leaves error objects alone and says why', async () => {
    await seedNeedingHead('refused-repair', ['only.txt']);
    faults().failNext({ service: 's3', method: 'HEAD', pathIncludes: backup.keyOf('refused-repair', 'only.txt'), status: 403 });
    const result = await verify('refused-repair', '--repair', '--json');
    expect(result.code).toBe(1);
    const [difference] = (JSON.parse(result.stdout) as JsonReport).differences;
    expect(difference).toMatchObject({ kind: 'error', repair: { action: 'none', status: 'skipped' } });
    expect(String(difference?.repair?.detail)).toMatch(/not classified \(S3 HEAD answered 403 Forbidden\); verify again/);
  });

  it('exits 3, naming the endpoint to check, when S3 stops answering mid-run', async () => {
    await seedNeedingHead('dark', ['one.txt', 'two.txt']);
    const proxy = await darkAfterListing(backup.cloud.stack.aws.s3Endpoint);
    try {
      const result = await verify('dark', '--json', '--s3-endpoint', proxy.endpoint);
      expect(result.code).toBe(3);
      expect(result.stderr).toMatch(/^blobferry: The run stopped before it could finish: S3 HEAD of s3:\/\/\S+(one|two)\.txt failed: /);
      expect(result.stderr).toContain(`Check that the S3 endpoint ${proxy.endpoint} (--s3-endpoint, --region) is up and reachable`);
      expect(result.stdout).toBe('');
    } finally {
      await proxy.close();
    }
  });

  it('exits 3 when the S3 listing itself cannot be read, and 2 when the bucket does not exist', async () => {
    await seedBackedUp(backup, 'unlisted', { 'x.txt': 'x' });
    // Every try the S3 client makes of the listing (S3_RETRY) is answered 500.
    faults().failNext({ service: 's3', method: 'GET', queryIncludes: 'unlisted', status: 500, times: S3_RETRY.maxAttempts });
    const failing = await verify('unlisted');
    expect(failing.code).toBe(3);
    expect(failing.stderr).toMatch(/S3 listing of s3:\/\/\S+ failed/);
    expect(failing.stderr).toMatch(/It kept answering 500 through the SDK's retries/);

    const noBucket = await verify('refused', '--bucket', 'no-such-bucket');
    expect(noBucket.code).toBe(2);
    expect(noBucket.stderr).toMatch(/bucket does not exist/);
  });

  it('documents the exit codes in --help', async () => {
    for (const argv of [['--help'], ['verify', '--help'], ['backfill', '--help']]) {
      const help = await blobferry(argv);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(
        /Exit codes:\n {2}0 {2}in sync[^\n]*\n {2}1 {2}differences remain[^\n]*\n {2}2 {2}usage or configuration[^\n]*\n {2}3 {2}the run could not complete/,
      );
    }
  });
});

describe('blobferry verify --deep --repair of a corrupt object', () => {
  it("replaces it in place: no delete marker on a versioned bucket, the bytes are the blob's again", async () => {
    const { s3, bucket } = backup;
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const data = randomBytes(1000);
    await seedBackedUp(backup, 'corrupt', { 'x.bin': data });
    const key = backup.keyOf('corrupt', 'x.bin');
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const corrupted = Buffer.from(data);
    corrupted[0] = ((corrupted[0] ?? 0) + 1) % 256;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: corrupted, Metadata: head.Metadata }));

    const repair = await verify('corrupt', '--deep', '--repair', '--json');
    expect(repair.code).toBe(0);
    const report = JSON.parse(repair.stdout) as JsonReport;
    expect(report.differences).toMatchObject([{ key, kind: 'checksumMismatch', repair: { action: 'copy', status: 'done' } }]);

    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    expect(versions.DeleteMarkers ?? []).toEqual([]);
    expect(versions.Versions?.length).toBe(3); // the backup, the corruption, the repair
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(Buffer.from((await Body?.transformToByteArray()) ?? []).equals(data)).toBe(true);
    expect((await verify('corrupt', '--deep')).code).toBe(0);
  });
});
