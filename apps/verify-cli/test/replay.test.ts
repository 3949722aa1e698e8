// `blobferry replay` against the local cloud: the poison queue, and a dead-letter container in Event Grid's
// format (blobs `<SUBSCRIPTION>/Y/M/D/H/<guid>.json`, each a JSON array of events with the dead-letter fields).
import { randomUUID } from 'node:crypto';
import { ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { blobferry, startLocalBackup, type LocalBackup } from './helpers/local-backup.js';

let backup: LocalBackup;
let queue: QueueClient;
let poison: QueueClient;
/** Event Grid's dead-letter container of the local stack (in its host storage) and the subscription's folder. */
let deadLetters: ContainerClient;
let folder: string;

beforeAll(async () => {
  backup = await startLocalBackup();
  const queues = QueueServiceClient.fromConnectionString(backup.cloud.stack.azure.connectionString);
  queue = queues.getQueueClient(backup.cloud.stack.events.queueName);
  poison = queues.getQueueClient(backup.cloud.stack.events.poisonQueueName);
  const { events, azure } = backup.cloud.stack;
  deadLetters = new ContainerClient(
    azure.hostStorageConnectionString,
    new URL(events.deadLetterContainerUrl).pathname.split('/').at(-1) ?? '',
  );
  await deadLetters.createIfNotExists();
  folder = `${events.subscriptionName.toUpperCase()}/`;
}, 120_000);
afterAll(async () => {
  await backup?.stop();
});
beforeEach(async () => {
  await queue.clearMessages();
  await poison.clearMessages();
});

function event(name: string) {
  const { stack } = backup.cloud;
  return {
    id: randomUUID(),
    topic: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/${stack.azure.accountName}`,
    subject: `/blobServices/default/containers/source/blobs/${name}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: '2026-01-02T03:04:05.1234567Z',
    data: { api: 'PutBlob', contentLength: 1, url: `${stack.azure.blobEndpoint}/source/${name}` },
    dataVersion: '',
    metadataVersion: '1',
  };
}

const deadLettered = (original: ReturnType<typeof event>) => ({
  ...original,
  deadLetterReason: 'MaxDeliveryAttemptsExceeded',
  deliveryAttempts: 30,
  lastDeliveryOutcome: 'Busy',
  lastHttpStatusCode: 503,
  publishTime: '2026-01-02T03:04:05.1234567Z',
  lastDeliveryAttemptTime: '2026-01-03T03:04:05.1234567Z',
});

async function queued(): Promise<Array<Record<string, unknown>>> {
  const { peekedMessageItems } = await queue.peekMessages({ numberOfMessages: 32 });
  return peekedMessageItems.map((item) => JSON.parse(item.messageText) as Record<string, unknown>);
}

const local = () => ['--local', '--stack', backup.stackFile, '--no-progress'];
/** The same queues named by flags, without the stack (so without a dead-letter container). */
const byFlags = () => [
  '--connection-string',
  backup.cloud.stack.azure.connectionString,
  '--queue-name',
  backup.cloud.stack.events.queueName,
  '--no-progress',
];

describe('blobferry replay', () => {
  it('puts the poison queue back into the backup queue, each event with its attempt count reset', async () => {
    const events = [event('p1.txt'), event('p2.txt'), event('p3.txt')];
    for (const [index, original] of events.entries()) {
      const retryState = { attempt: 3 + index, firstFailedAt: '2026-01-01T00:00:00.000Z', lastError: 'unclassified' };
      await poison.sendMessage(JSON.stringify({ ...original, blobferry: retryState }));
    }

    const dry = await blobferry(['replay', ...local(), '--from', 'poison', '--dry-run']);
    expect(dry).toMatchObject({ code: 0, stdout: `poison queue ${poison.name}: 3 messages would be replayed\n` });
    expect(await queued()).toEqual([]);

    const run = await blobferry(['replay', ...local(), '--from', 'poison', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ dryRun: false, poison: { queue: poison.name, messages: 3 }, deadLetters: null });
    expect((await queued()).sort((a, b) => String(a.subject).localeCompare(String(b.subject)))).toEqual(events);
    expect((await poison.peekMessages()).peekedMessageItems).toEqual([]);
  });

  it('replays the dead letters, reports a malformed blob and an invalid event with their paths, and keeps those blobs', async () => {
    const put = (path: string, content: string) => deadLetters.getBlockBlobClient(path).upload(content, Buffer.byteLength(content));
    const [good, alsoGood, survivor, broken] = [event('d1.txt'), event('d2.txt'), event('d3.txt'), event('d4.txt')];
    const done = `${folder}2026/1/2/3/aaaaaaaa-0000-4000-8000-000000000001.json`;
    const mixed = `${folder}2026/1/2/3/aaaaaaaa-0000-4000-8000-000000000002.json`;
    const malformed = `${folder}2026/1/2/4/aaaaaaaa-0000-4000-8000-000000000003.json`;
    await put(done, JSON.stringify([deadLettered(good), deadLettered(alsoGood)]));
    await put(mixed, JSON.stringify([{ ...deadLettered(broken), eventTime: 'last tuesday' }, deadLettered(survivor)]));
    await put(malformed, 'this is not JSON');

    // --local: the container and the subscription from the stack.
    const run = await blobferry(['replay', ...local(), '--from', 'dead-letters']);
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n')).toEqual([
      `dead letters ${deadLetters.url}/${folder}: 3 blobs, 3 events replayed, 1 blob deleted`,
      expect.stringMatching(new RegExp(`^skipped ${mixed} event 0: not an Event Grid event: eventTime: .* \\(kept\\)$`)),
      expect.stringMatching(new RegExp(`^skipped ${malformed}: not JSON \\(.*\\) \\(kept\\)$`)),
      '',
    ]);
    expect((await queued()).sort((a, b) => String(a.subject).localeCompare(String(b.subject)))).toEqual([good, alsoGood, survivor]);
    const left: string[] = [];
    for await (const blob of deadLetters.listBlobsFlat()) left.push(blob.name);
    expect(left.sort()).toEqual([mixed, malformed]);
    for (const path of left) await deadLetters.deleteBlob(path);
  });

  it('replays both by default, and says when the dead letters are not named', async () => {
    await poison.sendMessage(JSON.stringify(event('both.txt')));
    const run = await blobferry(['replay', ...local()]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toBe(
      `poison queue ${poison.name}: 1 message replayed\ndead letters ${deadLetters.url}/${folder}: 0 blobs, 0 events replayed, 0 blobs deleted\n`,
    );
    const unnamed = await blobferry(['replay', ...byFlags()]);
    expect(unnamed).toMatchObject({ code: 0 });
    expect(unnamed.stdout).toBe(
      `poison queue ${poison.name}: 0 messages replayed\ndead letters: not read (name them with --dead-letter-container-url and --subscription-name)\n`,
    );
  });

  it.each([
    [['--from', 'dead-letters'], /Name Event Grid's dead-letter container/],
    [
      ['--dead-letter-container-url', 'http://127.0.0.1:1/devstoreaccount1/x'],
      /--dead-letter-container-url and --subscription-name go together/,
    ],
    [['--from', 'everything'], /Allowed choices are all, poison, dead-letters/],
  ])('refuses %j with exit 2 and what to change', async (flags, message) => {
    const run = await blobferry(['replay', ...byFlags(), ...flags]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
