import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { replayParked } from '../src/replay-parked.js';
import { blobEvent, depsForStack, hostJsonWith, s3Reader, sourceContainer, WITHOUT_SWEEP } from './support.js';

// The app's own registrations (src/index.ts) in the local Functions host process, triggered by the
// backup queue that the local Event Grid writes to: transient failures put back with a delay (RETRY_DELAYS
// compressed to 1 s), unclassified ones retried through dequeue counts and then kept in the poison queue.
let stack: BackupStack;
const logs: Array<Record<string, unknown>> = [];
const MAX_DEQUEUE_COUNT = 3;

beforeAll(async () => {
  stack = await startBackupStack({
    log: (entry) => logs.push(entry),
    localCloud: { faultProxy: true },
    settings: { ...WITHOUT_SWEEP, RETRY_DELAYS: '1s' },
    hostJsonPath: await hostJsonWith({ visibilityTimeout: '00:00:01', maxDequeueCount: MAX_DEQUEUE_COUNT }),
  });
});
afterAll(async () => {
  await stack?.stop();
});

const linesFor = (name: string) =>
  logs.filter((entry) => entry.event === 'backupBlob' && String(entry.url).endsWith(`/${encodeURIComponent(name)}`));

async function poisonMessages(): Promise<string[]> {
  const peeked = await stack.poisonQueue.peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((item) => item.messageText);
}

describe('the backup function behind the queue trigger', () => {
  it('serves GET /api/health: configuration valid, credentials obtainable, expiration only', async () => {
    const response = await fetch(`${stack.host().baseUrl}/api/health`);
    const text = await response.text();
    expect(response.status).toBe(200);
    const report = JSON.parse(text) as {
      status: string;
      config: { valid: boolean };
      credentials: { obtained: boolean; expiration: string };
    };
    expect(report.status).toBe('healthy');
    expect(report.config.valid).toBe(true);
    expect(report.credentials.obtained).toBe(true);
    expect(Date.parse(report.credentials.expiration)).toBeGreaterThan(Date.now());
    for (const secret of [stack.cloud.stack.aws.emulatorSecretAccessKey, stack.cloud.stack.azure.accountKey, 'SessionToken', 'eyJ']) {
      expect(text).not.toContain(secret);
    }
  });

  it('backs up a blob uploaded to Azurite: the storage operation raises the event, the queue delivers it', async () => {
    const content = Buffer.from('delivered through the backup queue');
    await sourceContainer(stack.cloud.stack).getBlockBlobClient('via-queue.txt').upload(content, content.length);
    await stack.drained();
    const reader = s3Reader(stack.cloud.stack);
    expect((await reader.read('via-queue.txt'))?.equals(content)).toBe(true);
    expect(linesFor('via-queue.txt')).toMatchObject([
      { outcome: 'copied', bytes: content.length, dequeueCount: 1, invocationId: expect.any(String), eventId: expect.any(String) },
    ]);
    reader.s3.destroy();
  });

  it('acknowledges malformed messages at the first attempt (logged with a reason), never poisoning them', async () => {
    const valid = blobEvent(stack.cloud.stack, 'never.txt', { contentLength: 1 });
    const malformed = [
      'this is {not json',
      JSON.stringify({ ...valid, id: 'no-data', data: undefined }),
      JSON.stringify({ ...valid, id: 'wrong-type', eventType: 'Microsoft.Storage.DirectoryCreated' }),
      JSON.stringify({
        ...valid,
        id: 'other-account',
        topic: undefined,
        data: { ...valid.data, url: 'https://elsewhere.blob.core.windows.net/source/never.txt' },
      }),
      JSON.stringify({ ...valid, id: 'mismatch', subject: '/blobServices/default/containers/source/blobs/other.txt' }),
      // An array, as a webhook would carry: the queue holds one event per message.
      JSON.stringify([valid]),
    ];
    for (const text of malformed) await stack.queue.sendMessage(text);
    await stack.drained();
    const refused = logs.filter((entry) => entry.event === 'backupBlob' && entry.outcome === 'refused');
    for (const id of ['no-data', 'wrong-type', 'other-account', 'mismatch']) {
      expect(refused.find((entry) => entry.eventId === id)).toMatchObject({
        dequeueCount: 1,
        functionName: 'backupBlob',
        reason: expect.stringMatching(/\S/),
      });
    }
    expect(refused.filter((entry) => entry.eventId === undefined).map((entry) => entry.reason)).toEqual([
      'the event is not a JSON object',
      'the event is not a JSON object',
    ]);
    expect(await poisonMessages()).toEqual([]);
  });

  it('reads an event that arrives base64-encoded, as some Event Grid deliveries have been seen to', async () => {
    const content = Buffer.from('base64 message');
    const blob = sourceContainer(stack.cloud.stack).getBlockBlobClient('base64-message.txt');
    await blob.upload(content, content.length);
    await stack.drained();
    const event = blobEvent(stack.cloud.stack, 'base64-message.txt', {
      contentLength: content.length,
      etag: (await blob.getProperties()).etag,
    });
    await stack.queue.sendMessage(Buffer.from(JSON.stringify(event)).toString('base64'));
    await stack.drained();
    expect(logs.find((entry) => entry.eventId === event.id)).toMatchObject({ outcome: 'skipped-up-to-date' });
  });

  it('puts a copy that fails for a transient reason back with a delay, until S3 takes it', { timeout: 60_000 }, async () => {
    // Refused twice (a 403 is not retried inside one attempt): each attempt puts the event back for the next.
    stack.cloud.faults?.failNext({ service: 's3', method: 'PUT', pathIncludes: 'transient.txt', status: 403, times: 2 });
    const content = Buffer.from('worth retrying');
    await sourceContainer(stack.cloud.stack).getBlockBlobClient('transient.txt').upload(content, content.length);
    await stack.drained();
    const reader = s3Reader(stack.cloud.stack);
    expect((await reader.read('transient.txt'))?.equals(content)).toBe(true);
    // Each attempt is a message of its own, dequeued once: the runtime's dequeue count never grows.
    expect(linesFor('transient.txt').map((entry) => [entry.outcome, entry.attempt, entry.dequeueCount])).toEqual([
      ['will-retry', 1, 1],
      ['will-retry', 2, 1],
      ['copied', 3, 1],
    ]);
    expect(linesFor('transient.txt')[0]).toMatchObject({ dependency: 's3', cause: expect.stringMatching(/^S3: 403 /), retryInMs: 1000 });
    expect(await poisonMessages()).toEqual([]);
    reader.s3.destroy();
  });

  it(
    'moves a message that fails unclassified maxDequeueCount times to the poison queue, whence a replay brings it back',
    { timeout: 60_000 },
    async () => {
      // S3 refusing the request itself (400): no rule explains it, so the runtime retries and then poisons it.
      stack.cloud.faults?.failNext({ service: 's3', method: 'PUT', pathIncludes: 'doomed.txt', status: 400, times: MAX_DEQUEUE_COUNT });
      await sourceContainer(stack.cloud.stack).getBlockBlobClient('doomed.txt').upload('doomed', 6);
      await stack.drained();
      const attempts = linesFor('doomed.txt');
      expect(attempts.map((entry) => [entry.outcome, entry.dequeueCount])).toEqual(
        Array.from({ length: MAX_DEQUEUE_COUNT }, (_, index) => ['failed-unclassified', index + 1]),
      );
      expect(String(attempts.at(-1)?.reason)).toMatch(/400|InvalidRequest/);
      const poisoned = (await poisonMessages()).map((text) => JSON.parse(text) as { subject: string });
      expect(poisoned.map((event) => event.subject)).toEqual(['/blobServices/default/containers/source/blobs/doomed.txt']);
      const moved = logs.find((entry) =>
        String(entry.msg).includes(`Moving message to queue '${stack.cloud.stack.events.poisonQueueName}'`),
      );
      expect(moved).toMatchObject({ dequeueCount: MAX_DEQUEUE_COUNT, reason: expect.stringMatching(/\S/) });
      expect(await s3Reader(stack.cloud.stack).read('doomed.txt')).toBeUndefined();

      // The sweep's replay, with the Function's own clients: the message is back, its attempt count reset.
      const { clients } = depsForStack(stack.cloud.stack);
      expect(await replayParked(clients)).toMatchObject({
        poison: { queue: stack.cloud.stack.events.poisonQueueName, messages: 1 },
        deadLetters: { blobs: 0, events: 0 },
      });
      await stack.drained();
      expect(await poisonMessages()).toEqual([]);
      expect(linesFor('doomed.txt').at(-1)).toMatchObject({ outcome: 'copied', attempt: 1, dequeueCount: 1 });
      expect((await s3Reader(stack.cloud.stack).read('doomed.txt'))?.toString()).toBe('doomed');
      clients.s3.destroy();
    },
  );

  it("replays an event placed in Event Grid's dead-letter container in Azure's format", { timeout: 60_000 }, async () => {
    const content = Buffer.from('missed by Event Grid');
    const blob = sourceContainer(stack.cloud.stack).getBlockBlobClient('dead-lettered.txt');
    const uploaded = await blob.upload(content, content.length);
    await stack.drained();
    // The backup goes again, as if its event had never arrived: Event Grid gave up and dead-lettered it instead.
    const reader = s3Reader(stack.cloud.stack);
    await reader.s3.send(new DeleteObjectCommand({ Bucket: stack.cloud.stack.aws.bucket, Key: reader.keyOf('dead-lettered.txt') }));
    const event = blobEvent(stack.cloud.stack, 'dead-lettered.txt', { contentLength: content.length, etag: uploaded.etag });
    const deadLetter = {
      ...event,
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 30,
      lastDeliveryOutcome: 'Busy',
      lastHttpStatusCode: 503,
      publishTime: event.eventTime,
      lastDeliveryAttemptTime: new Date().toISOString(),
    };
    // The local stack's DEAD_LETTER_CONTAINER_URL and EVENT_SUBSCRIPTION_NAME, as the Function has them.
    const { clients } = depsForStack(stack.cloud.stack);
    const container = clients.deadLetters?.container;
    if (!container) throw new Error('the dead-letter container is not configured');
    await container.createIfNotExists();
    const folder = `${stack.cloud.stack.events.subscriptionName.toUpperCase()}/`;
    const path = `${folder}${new Date().getUTCFullYear()}/1/2/3/${randomUUID()}.json`;
    const text = JSON.stringify([deadLetter]);
    await container.getBlockBlobClient(path).upload(text, Buffer.byteLength(text));

    expect((await replayParked(clients)).deadLetters).toMatchObject({
      prefix: folder,
      blobs: 1,
      events: 1,
      deletedBlobs: 1,
      skipped: [],
    });
    await stack.drained();
    expect(logs.filter((entry) => entry.eventId === event.id)).toMatchObject([{ outcome: 'copied', attempt: 1 }]);
    expect((await reader.read('dead-lettered.txt'))?.equals(content)).toBe(true);
    expect(await container.getBlobClient(path).exists()).toBe(false);
    clients.s3.destroy();
    reader.s3.destroy();
  });

  it('ends with the newest version through duplicate and reordered messages', { timeout: 60_000 }, async () => {
    const blob = sourceContainer(stack.cloud.stack).getBlockBlobClient('reordered.txt');
    const messages: string[] = [];
    // The two real events, captured as the queue would carry them, then delivered again, newest first.
    for (const version of ['v1: old', 'v2: newer', 'v3: newest']) {
      await blob.upload(version, version.length);
      await stack.drained();
    }
    for (const event of stack.cloud.events.delivered().filter((candidate) => candidate.subject.endsWith('/reordered.txt'))) {
      messages.push(JSON.stringify({ ...event, id: randomUUID() }));
    }
    expect(messages).toHaveLength(3);
    for (const text of [...messages].reverse()) await stack.queue.sendMessage(text);
    for (const text of messages) await stack.queue.sendMessage(text);
    await stack.drained();
    expect((await s3Reader(stack.cloud.stack).read('reordered.txt'))?.toString()).toBe('v3: newest');
    const outcomes = linesFor('reordered.txt').map((entry) => entry.outcome);
    expect(outcomes.filter((outcome) => ['will-retry', 'failed-permanent', 'failed-unclassified'].includes(String(outcome)))).toEqual([]);
  });

  it('never logs a token, key or signature', () => {
    const text = JSON.stringify(logs);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    expect(text).not.toContain(stack.cloud.stack.azure.accountKey);
    expect(text).not.toContain(stack.cloud.stack.aws.emulatorSecretAccessKey);
    expect(text).not.toMatch(/[?&]sig=/);
  });
});
