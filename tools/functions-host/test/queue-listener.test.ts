import { randomUUID } from 'node:crypto';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHostJson } from '../src/host-json.js';
import { startQueueListener, type QueueInvocation } from '../src/queue-listener.js';

// The queue trigger's semantics against Azurite's real Queue service.
let cloud: LocalCloud;
let service: QueueServiceClient;

beforeAll(async () => {
  cloud = await startLocalCloud({ log: () => undefined });
  service = QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString);
});
afterAll(() => cloud?.stop());

async function freshQueues(): Promise<{ queue: QueueClient; poison: QueueClient }> {
  const name = `q${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  const queue = service.getQueueClient(name);
  await queue.create();
  return { queue, poison: service.getQueueClient(`${name}-poison`) };
}

const options = (queues: Record<string, unknown>) =>
  parseHostJson({ version: '2.0', extensions: { queues: { maxPollingInterval: '00:00:00.2', ...queues } } }).queues;

/** Polls `condition`; a failing look-up (the poison queue does not exist until a message is moved) counts as not yet. */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (
    !(await Promise.resolve()
      .then(condition)
      .catch(() => false))
  ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the queue trigger', () => {
  it('keeps a running message invisible past its lease (renewed), then deletes it once', async () => {
    const { queue, poison } = await freshQueues();
    await queue.sendMessage(JSON.stringify({ hello: 'world' }));
    const invocations: QueueInvocation[] = [];
    const listener = startQueueListener({
      functionName: 'f',
      queue,
      poisonQueue: poison,
      options: options({ messageEncoding: 'none' }),
      leaseMs: 2000,
      log: () => undefined,
      invoke: async (invocation) => {
        invocations.push(invocation);
        await new Promise((resolve) => setTimeout(resolve, 5000)); // 2.5 leases
      },
    });
    await until(async () => invocations.length === 1 && (await queue.getProperties()).approximateMessagesCount === 0);
    await listener.drain();
    expect(invocations).toHaveLength(1);
    expect(invocations[0]?.input).toEqual({ hello: 'world' });
    expect(invocations[0]?.triggerMetadata).toMatchObject({ dequeueCount: 1, id: expect.any(String) });
  });

  it('retries a failing message after visibilityTimeout with a growing dequeue count, then moves it to the poison queue', async () => {
    const { queue, poison } = await freshQueues();
    await queue.sendMessage(Buffer.from('"payload"').toString('base64'));
    const counts: unknown[] = [];
    const logs: Array<Record<string, unknown>> = [];
    const listener = startQueueListener({
      functionName: 'f',
      queue,
      poisonQueue: poison,
      options: options({ maxDequeueCount: 3, visibilityTimeout: '00:00:01' }),
      leaseMs: 10_000,
      log: (entry) => logs.push(entry),
      invoke: async ({ input, triggerMetadata }) => {
        expect(input).toBe('payload'); // base64 decoded, then JSON
        counts.push(triggerMetadata.dequeueCount);
        throw new Error('boom');
      },
    });
    await until(async () => (await poison.peekMessages()).peekedMessageItems.length === 1);
    await listener.drain();
    expect(counts).toEqual([1, 2, 3]);
    expect((await poison.peekMessages()).peekedMessageItems[0]?.messageText).toBe(Buffer.from('"payload"').toString('base64'));
    expect((await queue.getProperties()).approximateMessagesCount).toBe(0);
    expect(logs.find((entry) => String(entry.msg).startsWith('Message has reached MaxDequeueCount of 3'))).toMatchObject({
      reason: 'Error: boom',
      dequeueCount: 3,
    });
  });

  it('poisons, without invoking, a message already received more often than maxDequeueCount (hosts died during it)', async () => {
    const { queue, poison } = await freshQueues();
    await queue.sendMessage('crashes the host');
    // Three receives whose hosts "died": the leases run out and the count grows.
    for (let receive = 0; receive < 3; receive++) {
      await until(async () => (await queue.receiveMessages({ visibilityTimeout: 1 })).receivedMessageItems.length === 1);
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    let invoked = 0;
    const listener = startQueueListener({
      functionName: 'f',
      queue,
      poisonQueue: poison,
      options: options({ maxDequeueCount: 2, messageEncoding: 'none' }),
      leaseMs: 10_000,
      log: () => undefined,
      invoke: async () => {
        invoked += 1;
      },
    });
    await until(async () => (await poison.peekMessages()).peekedMessageItems.length === 1);
    await listener.drain();
    expect(invoked).toBe(0);
  });

  it('runs at most batchSize + newBatchThreshold invocations at once', async () => {
    const { queue, poison } = await freshQueues();
    for (let index = 0; index < 12; index++) await queue.sendMessage(`m${index}`);
    let running = 0;
    let most = 0;
    let done = 0;
    const listener = startQueueListener({
      functionName: 'f',
      queue,
      poisonQueue: poison,
      options: options({ batchSize: 3, newBatchThreshold: 1, messageEncoding: 'none' }),
      leaseMs: 10_000,
      log: () => undefined,
      invoke: async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 300));
        running -= 1;
        done += 1;
      },
    });
    await until(() => done === 12);
    await listener.drain();
    expect(most).toBeGreaterThanOrEqual(3);
    expect(most).toBeLessThanOrEqual(4);
  });
});
