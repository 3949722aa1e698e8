import type { QueueClient } from '@azure/storage-queue';
import type { QueueOptions } from './host-json.js';

// The queue trigger as the Functions runtime runs it (Microsoft.Azure.WebJobs.Extensions.Storage.Queues
// QueueListener and QueueProcessor):
// - messages are received in batches of `batchSize`, invisible for a lease (10 minutes on Azure) that is
//   renewed at half its length while the function runs, so a long copy is never delivered twice;
// - a new batch is fetched once no more than `newBatchThreshold` messages are in flight;
// - an empty queue is polled with a growing back-off, up to `maxPollingInterval`;
// - success deletes the message; a failure makes it visible again after `visibilityTimeout`, and a
//   failure at `maxDequeueCount` (or a message already received more often, after crashes) moves it to
//   `<queue>-poison`;
// - a host that dies leaves its messages invisible until their lease runs out: then they are received
//   again with a higher dequeue count.

export interface QueueMessage {
  messageId: string;
  popReceipt: string;
  messageText: string;
  dequeueCount: number;
  insertedOn: Date;
  expiresOn: Date;
  nextVisibleOn: Date;
}

export interface QueueInvocation {
  /** What the function receives: the parsed JSON when the message is JSON, else its text. */
  input: unknown;
  /** The runtime's trigger metadata for a queue message (`context.triggerMetadata`). */
  triggerMetadata: Record<string, unknown>;
}

export interface QueueListenerOptions {
  functionName: string;
  queue: QueueClient;
  poisonQueue: QueueClient;
  options: QueueOptions;
  /** How long a received message stays invisible before a renewal (Azure: 10 minutes). */
  leaseMs: number;
  invoke(invocation: QueueInvocation): Promise<void>;
  log(entry: Record<string, unknown>): void;
}

export interface QueueListener {
  /** Stops receiving and waits for the invocations in flight. */
  drain(): Promise<void>;
}

const MIN_POLL_MS = 100;

function decode(text: string, encoding: QueueOptions['messageEncoding']): string {
  return encoding === 'base64' ? Buffer.from(text, 'base64').toString('utf8') : text;
}

function inputOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

export function startQueueListener(o: QueueListenerOptions): QueueListener {
  const { queue, poisonQueue, options, log } = o;
  const stopping = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const leaseSeconds = Math.max(1, Math.ceil(o.leaseMs / 1000));

  async function moveToPoison(message: QueueMessage, popReceipt: string, reason: string): Promise<void> {
    log({
      source: 'host',
      level: 'error',
      functionName: o.functionName,
      messageId: message.messageId,
      dequeueCount: message.dequeueCount,
      msg: `Message has reached MaxDequeueCount of ${options.maxDequeueCount}. Moving message to queue '${poisonQueue.name}'.`,
      reason,
    });
    await poisonQueue.createIfNotExists();
    await poisonQueue.sendMessage(message.messageText, { messageTimeToLive: -1 });
    await queue.deleteMessage(message.messageId, popReceipt);
  }

  async function process(message: QueueMessage): Promise<void> {
    let popReceipt = message.popReceipt;
    if (message.dequeueCount > options.maxDequeueCount) {
      await moveToPoison(message, popReceipt, `received ${message.dequeueCount} times (the host stopped during earlier attempts)`);
      return;
    }
    // Renewing needs the latest pop receipt; the renewal in flight is awaited before the message is settled.
    let renewal: Promise<void> = Promise.resolve();
    const renewTimer = setInterval(
      () => {
        renewal = renewal.then(async () => {
          try {
            popReceipt = (await queue.updateMessage(message.messageId, popReceipt, undefined, leaseSeconds)).popReceipt ?? popReceipt;
          } catch (error) {
            log({
              source: 'host',
              level: 'warning',
              functionName: o.functionName,
              messageId: message.messageId,
              msg: 'could not renew the message lease',
              error: (error as Error).message,
            });
          }
        });
      },
      Math.max(500, o.leaseMs / 2),
    );
    const text = decode(message.messageText, options.messageEncoding);
    let failure: unknown;
    try {
      await o.invoke({
        input: inputOf(text),
        triggerMetadata: {
          id: message.messageId,
          dequeueCount: message.dequeueCount,
          insertionTime: message.insertedOn.toISOString(),
          expirationTime: message.expiresOn.toISOString(),
          nextVisibleTime: message.nextVisibleOn.toISOString(),
          popReceipt,
          queueTrigger: text,
        },
      });
    } catch (error) {
      failure = error;
    } finally {
      clearInterval(renewTimer);
      await renewal;
    }
    if (failure === undefined) {
      await queue.deleteMessage(message.messageId, popReceipt);
      log({ source: 'host', level: 'information', functionName: o.functionName, messageId: message.messageId, msg: 'message deleted' });
      return;
    }
    const reason = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
    if (message.dequeueCount >= options.maxDequeueCount) {
      await moveToPoison(message, popReceipt, reason);
      return;
    }
    await queue.updateMessage(message.messageId, popReceipt, undefined, Math.ceil(options.visibilityTimeoutMs / 1000));
    log({
      source: 'host',
      level: 'warning',
      functionName: o.functionName,
      messageId: message.messageId,
      dequeueCount: message.dequeueCount,
      msg: 'invocation failed; the message becomes visible again',
      visibleAfterMs: options.visibilityTimeoutMs,
      reason,
    });
  }

  function track(message: QueueMessage): void {
    const work = process(message).catch((error: unknown) =>
      log({
        source: 'host',
        level: 'error',
        functionName: o.functionName,
        messageId: message.messageId,
        msg: 'could not settle the message; it becomes visible again when its lease runs out',
        error: (error as Error).message,
      }),
    );
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  const loop = (async () => {
    let idleMs = MIN_POLL_MS;
    while (!stopping.signal.aborted) {
      if (inFlight.size > options.newBatchThreshold) {
        await Promise.race([...inFlight, sleep(options.maxPollingIntervalMs, stopping.signal)]);
        continue;
      }
      let received: QueueMessage[];
      try {
        received = (await queue.receiveMessages({ numberOfMessages: options.batchSize, visibilityTimeout: leaseSeconds }))
          .receivedMessageItems;
      } catch (error) {
        if (stopping.signal.aborted) break;
        log({
          source: 'host',
          level: 'warning',
          functionName: o.functionName,
          msg: 'receiving from the queue failed; retrying',
          error: (error as Error).message,
        });
        received = [];
      }
      if (stopping.signal.aborted) {
        // Received while stopping: the lease runs out and another host takes them.
        break;
      }
      if (received.length === 0) {
        await sleep(idleMs, stopping.signal);
        idleMs = Math.min(options.maxPollingIntervalMs, idleMs * 2);
        continue;
      }
      idleMs = MIN_POLL_MS;
      for (const message of received) track(message);
    }
  })();

  return {
    async drain() {
      stopping.abort();
      await loop;
      await Promise.all([...inFlight]);
    },
  };
}
