import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../src/cli-program.js';
import { startLocalCloud, type LocalCloud, type Stack } from '../src/index.js';
import { required } from './required.js';

// Outages of a whole public endpoint, as the real SDKs see them: `refuse` leaves nothing listening on the
// port (ECONNREFUSED) and comes back on the same port; `unavailable` answers 503 in the service's format.

let cloud: LocalCloud;
let workDir: string;
let stackFile: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'local-cloud-outage-'));
  stackFile = join(workDir, 'stack.json');
  cloud = await startLocalCloud({ faultProxy: true, stackFile, log: () => undefined });
});
afterAll(async () => {
  await cloud?.stop();
  await rm(workDir, { recursive: true, force: true });
});

const faults = () => required(cloud.faults, 'faults (faultProxy: true)');

function s3(): S3Client {
  const { aws } = cloud.stack;
  return new S3Client({
    endpoint: aws.s3Endpoint,
    region: aws.region,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
  });
}

const getText = async (key: string) =>
  (await s3().send(new GetObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key }))).Body?.transformToString();

/** What a plain TCP connect to the endpoint's port gets: 'connected' or the error code. */
function connectTo(endpoint: string): Promise<string> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

const failure = (attempt: Promise<unknown>) =>
  attempt.then(
    () => undefined,
    (error: unknown) => error as Error & { code?: string; $metadata?: { httpStatusCode?: number } },
  );

describe('outages', () => {
  it('refuse: nothing listens on the S3 port, the AWS SDK gets ECONNREFUSED, and S3 comes back on the same port', async () => {
    await s3().send(new PutObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: 'outage/kept.txt', Body: 'kept' }));
    const state = await faults().outage('s3', { mode: 'refuse', durationMs: 2000 });
    expect(state).toMatchObject({ service: 's3', mode: 'refuse' });
    expect(Date.parse(state.endsAt) - Date.parse(state.startedAt)).toBe(2000);
    expect(faults().outages()).toEqual([state]);

    expect(await connectTo(cloud.stack.aws.s3Endpoint)).toBe('ECONNREFUSED');
    const refused = await failure(getText('outage/kept.txt'));
    expect(refused?.code).toBe('ECONNREFUSED');
    expect(refused).not.toBeInstanceOf(S3ServiceException);
    // The other services stay up.
    expect(await connectTo(cloud.stack.azure.blobEndpoint)).toBe('connected');

    await new Promise((resolve) => setTimeout(resolve, Date.parse(state.endsAt) - Date.now() + 300));
    expect(faults().outages()).toEqual([]);
    expect(await getText('outage/kept.txt')).toBe('kept');
  });

  it("unavailable: S3, the blob endpoint and STS answer 503 in their own format, which each SDK reads as the service's error", async () => {
    await Promise.all([
      faults().outage('s3', { mode: 'unavailable', durationMs: 60_000 }),
      faults().outage('azure', { mode: 'unavailable', durationMs: 60_000 }),
      faults().outage('sts', { mode: 'unavailable', durationMs: 60_000 }),
    ]);
    try {
      const fromS3 = await failure(getText('outage/kept.txt'));
      expect(fromS3).toBeInstanceOf(S3ServiceException);
      expect(fromS3).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });

      const container = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString, {
        retryOptions: { maxTries: 1 },
      }).getContainerClient(cloud.stack.azure.sourceContainer);
      expect(await failure(container.getBlockBlobClient('outage.txt').upload('x', 1))).toMatchObject({
        statusCode: 503,
        code: 'ServerBusy',
      });

      const sts = new STSClient({ endpoint: cloud.stack.aws.stsEndpoint, region: cloud.stack.aws.region, maxAttempts: 1 });
      const token = await cloud.identity.mintToken({ identity: 'backup' });
      const fromSts = await failure(
        sts.send(
          new AssumeRoleWithWebIdentityCommand({ RoleArn: cloud.stack.aws.roleArn, RoleSessionName: 'outage', WebIdentityToken: token }),
        ),
      );
      expect(fromSts).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    } finally {
      await Promise.all((['s3', 'azure', 'sts'] as const).map((service) => faults().endOutage(service)));
    }
    // Ended early: every service answers again at once.
    expect(await getText('outage/kept.txt')).toBe('kept');
  });

  it('refuse: STS and the blob endpoint go dead and come back too', async () => {
    await faults().outage('sts', { mode: 'refuse', durationMs: 60_000 });
    await faults().outage('azure', { mode: 'refuse', durationMs: 60_000 });
    expect(await connectTo(cloud.stack.aws.stsEndpoint)).toBe('ECONNREFUSED');
    expect(await connectTo(cloud.stack.azure.blobEndpoint)).toBe('ECONNREFUSED');
    const blob = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString, { retryOptions: { maxTries: 1 } })
      .getContainerClient(cloud.stack.azure.sourceContainer)
      .getBlockBlobClient('outage/dead.txt');
    expect(await failure(blob.upload('x', 1))).toMatchObject({ code: 'ECONNREFUSED' });
    await faults().endOutage('sts');
    await faults().endOutage('azure');
    expect(await connectTo(cloud.stack.aws.stsEndpoint)).toBe('connected');
    await blob.upload('back', 4);
    expect((await blob.downloadToBuffer()).toString()).toBe('back');
  });
});

describe('local-cloud outage, against the running stack', () => {
  const cli = async (...args: string[]) => {
    const lines: string[] = [];
    await runCli(['node', 'local-cloud', ...args, '--stack-file', stackFile], {
      stdout: (line) => lines.push(line),
      signals: new EventEmitter(),
      env: {},
    });
    return lines;
  };

  it('reaches the stack through the control endpoint stack.json names, with its token', async () => {
    const written = JSON.parse(await readFile(stackFile, 'utf8')) as Stack;
    const control = required(written.control, 'stack.control');
    expect(control.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Without the token, nothing.
    const refused = await fetch(new URL('/outages', control.endpoint), { headers: { authorization: 'Bearer guessed' } });
    expect(refused.status).toBe(401);

    expect(await cli('outage', 's3', '--refuse', '--for', '4m')).toEqual([
      expect.stringMatching(/^s3 refuses connections until \d\d:\d\d:\d\d, then comes back on the same port$/),
    ]);
    expect(await connectTo(cloud.stack.aws.s3Endpoint)).toBe('ECONNREFUSED');
    expect(await cli('outages')).toEqual([expect.stringMatching(/^s3 refuses connections until /)]);
    expect(await cli('outage', 's3', '--end')).toEqual(['s3 is back']);
    expect(await getText('outage/kept.txt')).toBe('kept');
    expect(await cli('outages')).toEqual(['no outage']);

    await cli('outage', 'azure', '--unavailable', '--for', '90s');
    expect(faults().outages()).toEqual([expect.objectContaining({ service: 'azure', mode: 'unavailable' })]);
    await cli('outage', 'azure', '--end');
  });

  it('says what is missing: how the service fails, for how long, a stack that runs', async () => {
    await expect(cli('outage', 's3', '--for', '1m')).rejects.toThrow(/--refuse .* or --unavailable/);
    await expect(cli('outage', 's3', '--refuse')).rejects.toThrow(/--for 4m/);
    await expect(cli('outage', 's3', '--refuse', '--for', 'soon')).rejects.toThrow();
    await expect(
      runCli(['node', 'local-cloud', 'outages', '--stack-file', join(workDir, 'none.json')], {
        stdout: () => undefined,
        signals: new EventEmitter(),
        env: {},
      }),
    ).rejects.toThrow(/no running stack/);
    const withoutFaultProxy = join(workDir, 'no-fault-proxy.json');
    const { control: _control, ...rest } = JSON.parse(await readFile(stackFile, 'utf8')) as Stack;
    await writeFile(withoutFaultProxy, JSON.stringify(rest));
    await expect(
      runCli(['node', 'local-cloud', 'outages', '--stack-file', withoutFaultProxy], {
        stdout: () => undefined,
        signals: new EventEmitter(),
        env: {},
      }),
    ).rejects.toThrow(/runs without its fault proxy/);
  });
});
