import type { QueueClient } from '@azure/storage-queue';
import { withoutRetryState } from '@blobferry/contract';

// The poison queue holds what the backup Function could not classify (or could not put back for a retry);
// replaying puts each message back into the backup queue as the event alone, so its attempt count starts
// again. Received, sent, then deleted: a run cut short in between leaves a duplicate, which the copy's
// idempotence absorbs, never a loss.

/** How long a received poison message stays invisible while it is being replayed. */
const RECEIVE_VISIBILITY_SECONDS = 300;
/** The most messages one receive may take. */
const RECEIVE_BATCH = 32;

export interface ReplayPoisonQueueOptions {
  poisonQueue: QueueClient;
  backupQueue: QueueClient;
  /** Count what would be replayed (approximately, as the queue counts), change nothing. */
  dryRun?: boolean;
  abortSignal?: AbortSignal;
  /** Called after each message replayed. */
  onProgress?: (replayed: number) => void;
}

export interface PoisonQueueReplay {
  queue: string;
  /** Messages replayed; with `dryRun`, the queue's approximate count. */
  messages: number;
}

/** The message text a replay sends: the event without its retry state; text that is no JSON object, as it was. */
export function replayTextOf(text: string): string {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return text;
  return JSON.stringify(withoutRetryState(message as Record<string, unknown>));
}

const isQueueMissing = (error: unknown) => (error as { statusCode?: unknown }).statusCode === 404;

/** Moves every message of the poison queue back into the backup queue. A poison queue never created is empty. */
export async function replayPoisonQueue(o: ReplayPoisonQueueOptions): Promise<PoisonQueueReplay> {
  const { poisonQueue, backupQueue, abortSignal } = o;
  const queue = poisonQueue.name;
  try {
    if (o.dryRun) {
      const properties = await poisonQueue.getProperties({ abortSignal });
      return { queue, messages: properties.approximateMessagesCount ?? 0 };
    }
    let messages = 0;
    for (;;) {
      abortSignal?.throwIfAborted();
      const { receivedMessageItems } = await poisonQueue.receiveMessages({
        numberOfMessages: RECEIVE_BATCH,
        visibilityTimeout: RECEIVE_VISIBILITY_SECONDS,
        abortSignal,
      });
      if (receivedMessageItems.length === 0) return { queue, messages };
      for (const item of receivedMessageItems) {
        // No expiry, as the Event Grid subscription writes events.
        await backupQueue.sendMessage(replayTextOf(item.messageText), { messageTimeToLive: -1, abortSignal });
        await poisonQueue.deleteMessage(item.messageId, item.popReceipt, { abortSignal });
        messages += 1;
        o.onProgress?.(messages);
      }
    }
  } catch (error) {
    if (isQueueMissing(error)) return { queue, messages: 0 };
    throw error;
  }
}
