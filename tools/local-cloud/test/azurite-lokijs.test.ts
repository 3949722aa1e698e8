import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { azuriteConnectionString, startAzurite, type RunningAzurite } from '../src/azurite.js';
import { AZURITE_ACCOUNT_NAME } from '../src/constants.js';

const require = createRequire(import.meta.url);

interface LokiCollection {
  insert(doc: object): object;
  remove(doc: unknown): unknown;
  find(query?: object): Array<{ name: string }>;
  ensureAllIndexes(force?: boolean): void;
}

describe('the LokiJS preload of Azurite (an empty remove rebuilds no index)', () => {
  const { Collection } = require(createRequire(require.resolve('azurite/package.json')).resolve('lokijs')) as {
    Collection: new (name: string, options: object) => LokiCollection;
  };
  require('../preload/azurite-lokijs.cjs');

  function messages(): LokiCollection {
    // The indices Azurite's queue store declares for its messages.
    const collection = new Collection('messages', { indices: ['accountName', 'queueName', 'messageId', 'visibleTime'] });
    for (const name of ['a', 'b', 'c']) collection.insert({ name, accountName: 'x', queueName: 'q', messageId: name, visibleTime: 0 });
    return collection;
  }

  it('removes nothing, and rebuilds nothing, for an empty list', () => {
    const collection = messages();
    const rebuild = vi.spyOn(collection, 'ensureAllIndexes');
    collection.remove([]);
    expect(rebuild).not.toHaveBeenCalled();
    expect(collection.find().map((doc) => doc.name)).toEqual(['a', 'b', 'c']);
  });

  it('still removes a list of documents and a single document', () => {
    const collection = messages();
    const [a, b] = collection.find();
    collection.remove([a]);
    expect(collection.find().map((doc) => doc.name)).toEqual(['b', 'c']);
    collection.remove(b);
    expect(collection.find().map((doc) => doc.name)).toEqual(['c']);
    expect(collection.find({ messageId: 'c' })).toHaveLength(1);
  });
});

describe('Azurite queue with the preload', () => {
  let azurite: RunningAzurite;
  let queue: QueueClient;

  beforeAll(async () => {
    azurite = await startAzurite({ service: 'queue', port: 0 });
    // Only the queue endpoint of the connection string is used.
    const connectionString = azuriteConnectionString({ blob: azurite.origin, queue: `${azurite.origin}/${AZURITE_ACCOUNT_NAME}` });
    queue = QueueServiceClient.fromConnectionString(connectionString).getQueueClient('preload-check');
    await queue.create();
  }, 60_000);
  afterAll(async () => {
    await azurite?.child.stop();
  });

  it('runs in the Azurite process', async () => {
    const commandLine = (await readFile(`/proc/${azurite.child.pid}/cmdline`, 'utf8')).split('\0');
    expect(commandLine).toContain(require.resolve('../preload/azurite-lokijs.cjs'));
  });

  it('still drops expired messages and keeps the others, in order', async () => {
    await queue.sendMessage('expires', { messageTimeToLive: 1 });
    await queue.sendMessage('first', { messageTimeToLive: -1 });
    await queue.sendMessage('second', { messageTimeToLive: -1 });
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const received = (await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 30 })).receivedMessageItems;
    expect(received.map((message) => message.messageText)).toEqual(['first', 'second']);
    for (const message of received) await queue.deleteMessage(message.messageId, message.popReceipt);
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
  });
});
