import type { QueueClient } from '@azure/storage-queue';
import { retryDelayMs, type RetryState, withRetryState } from '@blobferry/contract';

/** Azure Storage keeps a message invisible for at most 7 days. */
const MAX_VISIBILITY_SECONDS = 7 * 24 * 3600;

export interface RetryLaterOptions {
  queue: QueueClient;
  /** The event as it arrived (a retry state beside it is replaced). */
  message: Record<string, unknown>;
  /** The retry state the message arrived with; undefined for a first attempt. */
  arrivedWith: RetryState | undefined;
  /** RETRY_DELAYS, in milliseconds. */
  delaysMs: readonly number[];
  lastError: string;
  now: Date;
}

export interface ScheduledRetry {
  attempt: number;
  retryInMs: number;
  firstFailedAt: string;
}

/**
 * Puts the event back into the backup queue for its next attempt, invisible for that attempt's delay
 * (RETRY_DELAYS, the last one repeated, in whole seconds as the queue counts them), with no expiry, as the
 * Event Grid subscription writes it. The caller then returns, so the runtime deletes the message it ran:
 * the retry is a new message, whose dequeue count starts again, so an outage of any length never reaches
 * maxDequeueCount.
 */
export async function retryLater(o: RetryLaterOptions): Promise<ScheduledRetry> {
  const attempt = (o.arrivedWith?.attempt ?? 1) + 1;
  const retryInMs = retryDelayMs(o.delaysMs, attempt);
  const firstFailedAt = o.arrivedWith?.firstFailedAt ?? o.now.toISOString();
  const state: RetryState = { attempt, firstFailedAt, lastError: o.lastError.slice(0, 2000) };
  await o.queue.sendMessage(JSON.stringify(withRetryState(o.message, state)), {
    visibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(retryInMs / 1000)),
    messageTimeToLive: -1,
  });
  return { attempt, retryInMs, firstFailedAt };
}
