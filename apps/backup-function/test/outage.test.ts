import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { s3Reader, sourceContainer, waitFor, WITHOUT_SWEEP } from './support.js';

// S3 going down while blobs keep arriving (tools/local-cloud's outages: nothing listening on S3's port, or S3
// answering 503 ServiceUnavailable), with the Functions host as its own process and its committed
// host.json (maxDequeueCount 5, visibilityTimeout 30 s): every blob ends in S3 once S3 is back, nothing in
// the poison queue, the log names the cause, and health says since when S3 has been failing. The retry
// delays are compressed (RETRY_DELAYS 1s,2s,3s instead of 30s,1m,2m,5m, about 1/100), so an outage of
// seconds stands for one of minutes, and one of 12 rounds of the longest delay for one of an hour and more.

let stack: BackupStack;
const logs: Array<Record<string, unknown>> = [];

// Long enough for any test: each ends its outage itself (tools/local-cloud's `outage`, `endOutage`).
const UNTIL_ENDED_MS = 10 * 60_000;

beforeAll(async () => {
  stack = await startBackupStack({
    log: (entry) => logs.push(entry),
    localCloud: { faultProxy: true },
    settings: { ...WITHOUT_SWEEP, RETRY_DELAYS: '1s,2s,3s' },
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

function faults() {
  if (!stack.cloud.faults) throw new Error('the local cloud runs without its fault proxy');
  return stack.cloud.faults;
}

const attemptsOf = (name: string) =>
  logs.filter(
    (entry) => entry.event === 'backupBlob' && String(entry.url).endsWith(`/${name.split('/').map(encodeURIComponent).join('/')}`),
  );

interface Health {
  status: string;
  dependencies: Record<string, { failing: boolean; since?: string; firstError?: string }>;
}

async function health(): Promise<{ code: number; body: Health }> {
  const response = await fetch(`${stack.host().baseUrl}/api/health`);
  return { code: response.status, body: (await response.json()) as Health };
}

async function poisoned(): Promise<number> {
  return (await stack.poisonQueue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems.length;
}

async function uploadAll(prefix: string, count: number): Promise<Map<string, Buffer>> {
  const contents = new Map<string, Buffer>();
  const container = sourceContainer(stack.cloud.stack);
  await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const name = `${prefix}/${index}.txt`;
      const content = Buffer.from(`${name} written while S3 was down`);
      contents.set(name, content);
      await container.getBlockBlobClient(name).upload(content, content.length);
    }),
  );
  return contents;
}

async function allInS3(contents: Map<string, Buffer>, timeoutMs: number): Promise<void> {
  const reader = s3Reader(stack.cloud.stack);
  await waitFor(
    async () => {
      for (const [name, content] of contents) if (!(await reader.read(name))?.equals(content)) return false;
      return true;
    },
    { timeoutMs, intervalMs: 1000, what: `${contents.size} blobs in S3` },
  );
  reader.s3.destroy();
}

describe('S3 outages', () => {
  it('S3 refusing connections while 50 blobs arrive: all end in S3 after it returns, none poisoned', { timeout: 300_000 }, async () => {
    await faults().outage('s3', { mode: 'refuse', durationMs: UNTIL_ENDED_MS });
    const outageStarted = Date.now();
    const contents = await uploadAll('refused', 50);
    // Every blob has failed at least twice (it is being retried, not poisoned), naming the cause.
    await waitFor(async () => [...contents.keys()].every((name) => attemptsOf(name).length >= 2), {
      timeoutMs: 120_000,
      intervalMs: 500,
      what: 'two failed attempts of every blob',
    });
    // The outage goes on for several rounds of retries (4 minutes at the default delays: 8 at 30 s).
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    for (const name of contents.keys()) {
      for (const attempt of attemptsOf(name)) {
        expect(attempt).toMatchObject({
          outcome: 'will-retry',
          dependency: 's3',
          cause: 'S3: connection refused (ECONNREFUSED)',
          dequeueCount: 1,
        });
      }
    }
    const during = await health();
    expect(during.code).toBe(503);
    expect(during.body.dependencies.s3).toMatchObject({ failing: true, firstError: 'S3: connection refused (ECONNREFUSED)' });
    expect(Date.parse(during.body.dependencies.s3?.since ?? '')).toBeGreaterThanOrEqual(outageStarted);
    expect(during.body.dependencies.source).toEqual({ failing: false });

    await faults().endOutage('s3');
    const restored = Date.now();
    await allInS3(contents, 120_000);
    const recoveredInMs = Date.now() - restored;
    // Within the longest retry delay and the time the copies take, not maxDequeueCount x visibilityTimeout.
    expect(recoveredInMs).toBeLessThan(60_000);
    expect(await poisoned()).toBe(0);
    for (const name of contents.keys()) expect(attemptsOf(name).at(-1)).toMatchObject({ outcome: 'copied' });
    await waitFor(async () => (await health()).code === 200, { timeoutMs: 30_000, what: 'health to clear' });
    expect((await health()).body.dependencies.s3).toEqual({ failing: false });
  });

  it(
    'an outage many times longer than the retry delays heals the same, without raising maxDequeueCount',
    { timeout: 400_000 },
    async () => {
      await faults().outage('s3', { mode: 'unavailable', durationMs: UNTIL_ENDED_MS });
      const contents = await uploadAll('long-outage', 10);
      // 503s for 12 rounds of the longest delay (an hour at the default 5 minutes): far more attempts than
      // maxDequeueCount (5), each a new message.
      await waitFor(async () => [...contents.keys()].every((name) => attemptsOf(name).length >= 12), {
        timeoutMs: 240_000,
        intervalMs: 1000,
        what: 'twelve failed attempts of every blob',
      });
      const failed = [...contents.keys()].flatMap(attemptsOf);
      expect(failed.every((entry) => entry.outcome === 'will-retry' && entry.dequeueCount === 1)).toBe(true);
      expect(failed.every((entry) => /^S3: 503 ServiceUnavailable$/.test(String(entry.cause)))).toBe(true);
      expect(Math.max(...failed.map((entry) => Number(entry.attempt)))).toBeGreaterThanOrEqual(12);
      const retryDelays = failed.map((entry) => entry.retryInMs);
      expect(new Set(retryDelays)).toEqual(new Set([1000, 2000, 3000]));
      expect(await poisoned()).toBe(0);
      expect((await health()).body.dependencies.s3).toMatchObject({ failing: true, firstError: 'S3: 503 ServiceUnavailable' });

      await faults().endOutage('s3');
      await allInS3(contents, 120_000);
      expect(await poisoned()).toBe(0);
      for (const name of contents.keys()) {
        const attempts = attemptsOf(name);
        expect(attempts.at(-1)).toMatchObject({ outcome: 'copied', attempt: attempts.length, dequeueCount: 1 });
      }
      await waitFor(async () => (await health()).code === 200, { timeoutMs: 30_000, what: 'health to clear' });
    },
  );
});
