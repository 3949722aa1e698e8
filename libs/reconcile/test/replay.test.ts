// replayPoisonQueue and replayDeadLetters — the engine of `blobferry replay` and of the sweep's replay —
// against Azurite's queue and blob services, with dead letters in Event Grid's format.
import { randomUUID } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import type { LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayDeadLetters, replayPoisonQueue } from '../src/index.js';
import { freshContainer, startCloud } from './support/local-cloud.js';

let cloud: LocalCloud;
let queues: QueueServiceClient;

beforeAll(async () => {
  cloud = await startCloud();
  queues = QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
}, 240_000);
afterAll(async () => cloud?.stop());

async function freshQueues(): Promise<{ backup: QueueClient; poison: QueueClient }> {
  const name = `q${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const backup = queues.getQueueClient(name);
  const poison = queues.getQueueClient(`${name}-poison`);
  await backup.create();
  await poison.create();
  return { backup, poison };
}

async function drain(queue: QueueClient): Promise<unknown[]> {
  const messages: unknown[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return messages;
    for (const item of receivedMessageItems) {
      messages.push(JSON.parse(item.messageText));
      await queue.deleteMessage(item.messageId, item.popReceipt);
    }
  }
}

function event(name: string) {
  return {
    id: randomUUID(),
    topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: `/blobServices/default/containers/source/blobs/${name}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: '2026-01-02T03:04:05.1234567Z',
    data: { api: 'PutBlob', contentLength: 1, url: `http://127.0.0.1:10000/devstoreaccount1/source/${name}` },
    dataVersion: '',
    metadataVersion: '1',
  };
}

/** An event as Event Grid dead-letters it: the event, and the dead-letter fields beside it. */
const deadLettered = (original: ReturnType<typeof event>) => ({
  ...original,
  deadLetterReason: 'MaxDeliveryAttemptsExceeded',
  deliveryAttempts: 30,
  lastDeliveryOutcome: 'TimedOut',
  lastHttpStatusCode: 408,
  publishTime: '2026-01-02T03:04:05.1234567Z',
  lastDeliveryAttemptTime: '2026-01-03T03:04:05.1234567Z',
});

async function putDeadLetter(container: ContainerClient, path: string, content: string): Promise<void> {
  await container.getBlockBlobClient(path).upload(content, Buffer.byteLength(content));
}

const namesIn = async (container: ContainerClient) => {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  return names.sort();
};

describe('replayPoisonQueue', () => {
  it('moves every poison message back into the backup queue as the event alone, its attempt count reset', async () => {
    const { backup, poison } = await freshQueues();
    const events = Array.from({ length: 40 }, (_, index) => event(`poisoned-${index}.txt`));
    for (const [index, original] of events.entries()) {
      // Some failed after retries: the retry state beside the event goes; the event stays as it was.
      const message =
        index % 2 ? { ...original, blobferry: { attempt: 7, firstFailedAt: '2026-01-01T00:00:00.000Z', lastError: 'x' } } : original;
      await poison.sendMessage(JSON.stringify(message));
    }
    expect(await replayPoisonQueue({ poisonQueue: poison, backupQueue: backup, dryRun: true })).toEqual({
      queue: poison.name,
      messages: 40,
    });
    expect((await poison.getProperties()).approximateMessagesCount).toBe(40);

    const progress: number[] = [];
    expect(await replayPoisonQueue({ poisonQueue: poison, backupQueue: backup, onProgress: (count) => progress.push(count) })).toEqual({
      queue: poison.name,
      messages: 40,
    });
    expect(progress.at(-1)).toBe(40);
    expect((await poison.getProperties()).approximateMessagesCount).toBe(0);
    const replayed = (await drain(backup)) as Array<{ id: string }>;
    expect(replayed.sort((a, b) => a.id.localeCompare(b.id))).toEqual(events.sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('finds nothing to replay in a poison queue that was never created', async () => {
    const { backup } = await freshQueues();
    const missing = queues.getQueueClient(`${backup.name}-never`);
    expect(await replayPoisonQueue({ poisonQueue: missing, backupQueue: backup })).toEqual({ queue: missing.name, messages: 0 });
  });
});

describe('replayDeadLetters', () => {
  it("enqueues the events of Event Grid's dead-letter blobs, deletes the blobs done, and keeps those with a bad entry", async () => {
    const { backup } = await freshQueues();
    const container = await freshContainer(cloud);
    const [first, second, third, fourth] = [event('a.txt'), event('b.txt'), event('c.txt'), event('d.txt')];
    // Two subscriptions share the container: only ours (its name in upper case) is read.
    await putDeadLetter(
      container,
      'BLOBFERRY-BACKUP/2026/1/2/3/11111111-1111-1111-1111-111111111111.json',
      JSON.stringify([deadLettered(first), deadLettered(second)]),
    );
    const withBadEvent = 'BLOBFERRY-BACKUP/2026/1/2/4/22222222-2222-2222-2222-222222222222.json';
    await putDeadLetter(container, withBadEvent, JSON.stringify([deadLettered(third), { ...deadLettered(fourth), data: undefined }]));
    const malformed = 'BLOBFERRY-BACKUP/2026/1/2/5/33333333-3333-3333-3333-333333333333.json';
    await putDeadLetter(container, malformed, '{"truncated": [');
    const notAnArray = 'BLOBFERRY-BACKUP/2026/1/2/6/44444444-4444-4444-4444-444444444444.json';
    await putDeadLetter(container, notAnArray, JSON.stringify(deadLettered(fourth)));
    const otherSubscription = 'OTHER-SUBSCRIPTION/2026/1/2/3/55555555-5555-5555-5555-555555555555.json';
    await putDeadLetter(container, otherSubscription, JSON.stringify([deadLettered(fourth)]));

    const planned = await replayDeadLetters({ container, subscriptionName: 'blobferry-backup', backupQueue: backup, dryRun: true });
    expect(planned).toMatchObject({ blobs: 4, events: 3, deletedBlobs: 0 });
    expect(await drain(backup)).toEqual([]);

    const replay = await replayDeadLetters({ container, subscriptionName: 'blobferry-backup', backupQueue: backup });
    expect(replay).toMatchObject({ prefix: 'BLOBFERRY-BACKUP/', blobs: 4, events: 3, deletedBlobs: 1 });
    expect(replay.skipped).toEqual([
      { path: withBadEvent, index: 1, reason: expect.stringMatching(/^not an Event Grid event: data/) },
      { path: malformed, reason: expect.stringMatching(/^not JSON/) },
      { path: notAnArray, reason: 'not a JSON array of events' },
    ]);
    const replayed = (await drain(backup)) as Array<Record<string, unknown>>;
    // Each event as it was published, without the dead-letter fields; the good event of the kept blob too.
    expect(replayed.sort((a, b) => String(a.subject).localeCompare(String(b.subject)))).toEqual([first, second, third]);
    expect(await namesIn(container)).toEqual([withBadEvent, malformed, notAnArray, otherSubscription].sort());
  });
});
