import { createHash, randomBytes } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { s3Reader, sourceContainer, waitFor, WITHOUT_SWEEP } from './support.js';

// The two promises of durable delivery, through the real path (storage operation -> event -> queue ->
// Functions host process -> copy): a copy longer than any delivery deadline runs once, and a host killed
// mid-copy loses no work that the next host cannot finish from where it stopped.
const MiB = 1024 * 1024;
const PART_SIZE = 8 * MiB;
const CONCURRENCY = 4;
/** Short leases (Azure: 10 minutes), so a killed host's message comes back within seconds. */
const LEASE_SECONDS = 10;

let stack: BackupStack;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  stack = await startBackupStack({
    log: (entry) => logs.push(entry),
    localCloud: { faultProxy: true },
    leaseSeconds: LEASE_SECONDS,
    settings: { ...WITHOUT_SWEEP, PART_SIZE: '8MiB', CONCURRENCY: String(CONCURRENCY) },
  });
});
afterAll(async () => {
  await stack?.stop();
});

const faults = () => {
  if (!stack.cloud.faults) throw new Error('the stack runs without its fault proxy');
  return stack.cloud.faults;
};
const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('base64');

/** Polls HEAD on the key: nothing may ever be visible there but the finished, complete object. */
function watchKey(key: string, finalSize: number) {
  const reader = s3Reader(stack.cloud.stack);
  const seen: Array<number | undefined> = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const head = await reader.s3.send(new HeadObjectCommand({ Bucket: stack.cloud.stack.aws.bucket, Key: key }));
        seen.push(head.ContentLength);
      } catch {
        seen.push(undefined);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      reader.s3.destroy();
      return { seen, foreign: seen.filter((size) => size !== undefined && size !== finalSize) };
    },
  };
}

describe('durable delivery', () => {
  it('copies a blob whose copy takes over 60 s exactly once, deleting its message once, after the copy', { timeout: 240_000 }, async () => {
    const size = 48 * MiB;
    const content = randomBytes(size);
    const name = 'slow/longer-than-a-minute.bin';
    // 48 MiB at 0.75 MiB/s: about 64 s of reads, far past Event Grid's 30 s push deadline and six leases.
    faults().failNext({ service: 'azure', method: 'GET', pathIncludes: name, status: 200, bytesPerSecond: 0.75 * MiB, times: 1000 });
    const s3Before = faults().traffic('s3').requestBytes;
    const started = Date.now();
    const key = s3Reader(stack.cloud.stack).keyOf(name);
    const watcher = watchKey(key, size);
    await sourceContainer(stack.cloud.stack)
      .getBlockBlobClient(name)
      .uploadData(content, { blockSize: 4 * MiB });
    await stack.drained({ timeoutMs: 200_000 });
    const { foreign } = await watcher.stop();

    expect(Date.now() - started).toBeGreaterThan(60_000);
    expect(md5((await s3Reader(stack.cloud.stack).read(name)) ?? Buffer.alloc(0))).toBe(md5(content));
    const s3Bytes = faults().traffic('s3').requestBytes - s3Before;
    expect(s3Bytes).toBeGreaterThanOrEqual(size);
    expect(s3Bytes).toBeLessThanOrEqual(1.05 * size);
    const invocations = logs.filter((entry) => entry.event === 'backupBlob' && String(entry.url).includes('longer-than-a-minute'));
    expect(invocations.map((entry) => [entry.outcome, entry.dequeueCount])).toEqual([['copied', 1]]);
    const copiedAt = Date.parse(String(logs.find((entry) => entry === invocations[0])?.time ?? ''));
    const deletions = logs.filter(
      (entry) => entry.msg === 'message deleted' && entry.functionName === 'backupBlob' && Date.parse(String(entry.time)) >= started,
    );
    expect(deletions.filter((entry) => Date.parse(String(entry.time)) >= copiedAt)).toHaveLength(1);
    expect(foreign).toEqual([]);
    process.stdout.write(
      `${JSON.stringify({ proof: 'copy longer than 60 s', size, tookMs: Date.now() - started, s3Written: s3Bytes, ratio: s3Bytes / size, invocations: invocations.length })}\n`,
    );
  });

  it(
    'finishes a 256 MiB copy after the host is killed mid-copy, re-reading at most concurrency x partSize',
    { timeout: 300_000 },
    async () => {
      const size = 256 * MiB;
      const content = randomBytes(size);
      const name = 'crash/killed-mid-copy.bin';
      const key = s3Reader(stack.cloud.stack).keyOf(name);
      // Slow enough (32 MiB/s) that the kill lands mid-copy.
      faults().failNext({ service: 'azure', method: 'GET', pathIncludes: name, status: 200, bytesPerSecond: 32 * MiB, times: 1000 });
      await sourceContainer(stack.cloud.stack)
        .getBlockBlobClient(name)
        .uploadData(content, { blockSize: 8 * MiB, concurrency: 4 });
      const azureBefore = faults().traffic('azure').responseBytes;
      const s3Before = faults().traffic('s3').requestBytes;
      const watcher = watchKey(key, size);
      const first = stack.host();

      await waitFor(async () => faults().traffic('s3').requestBytes - s3Before >= size / 3, {
        timeoutMs: 120_000,
        what: 'a third of the copy in S3',
      });
      process.kill(first.pid, 'SIGKILL');
      await first.exited;
      const readBeforeKill = faults().traffic('azure').responseBytes - azureBefore;
      expect(readBeforeKill).toBeLessThan(size);

      await waitFor(async () => stack.host().pid !== first.pid, { timeoutMs: 30_000, what: 'a new Functions host' });
      await stack.drained({ timeoutMs: 240_000 });
      const { foreign } = await watcher.stop();

      expect(md5((await s3Reader(stack.cloud.stack).read(name)) ?? Buffer.alloc(0))).toBe(md5(content));
      const azureRead = faults().traffic('azure').responseBytes - azureBefore;
      expect(azureRead).toBeGreaterThanOrEqual(size);
      expect(azureRead).toBeLessThanOrEqual(size + CONCURRENCY * PART_SIZE);
      const attempts = logs.filter((entry) => entry.event === 'backupBlob' && String(entry.url).includes('killed-mid-copy'));
      // The killed attempt never logged; the one that finished is the message's second delivery.
      expect(attempts.map((entry) => [entry.outcome, entry.dequeueCount])).toEqual([['copied', 2]]);
      expect(foreign).toEqual([]);
      process.stdout.write(
        `${JSON.stringify({ proof: 'kill mid-copy', size, readBeforeKill, azureRead, reRead: azureRead - size, s3Written: faults().traffic('s3').requestBytes - s3Before })}\n`,
      );
    },
  );
});
