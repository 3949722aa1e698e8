import { z } from 'zod';

// The backup Function retries a transient failure by putting the event back into the backup queue with a
// visibility delay (the queue trigger has no retry delay of its own beyond visibilityTimeout, and it poisons
// after maxDequeueCount). The message it puts back is the event with one more field beside it, which says
// which attempt the message is for. Live Event Grid events and backfill messages have none: their first attempt.

/** The field beside the event that carries its retry state. */
export const RETRY_STATE_FIELD = 'blobferry';

export const retryStateSchema = z.object({
  /** The attempt this message is for: 2 once the first attempt failed. */
  attempt: z.number().int().min(2),
  /** When the first attempt failed (ISO 8601, UTC). */
  firstFailedAt: z.iso.datetime(),
  /** Why the latest attempt failed, redacted (no query string, key or token). */
  lastError: z.string().max(2000),
});

export type RetryState = z.infer<typeof retryStateSchema>;

export type RetryStateRead = { ok: true; state: RetryState | undefined } | { ok: false; reason: string };

/** The retry state a message carries beside its event: none for a first attempt, refused when malformed. */
export function readRetryState(message: Record<string, unknown>): RetryStateRead {
  if (!Object.hasOwn(message, RETRY_STATE_FIELD)) return { ok: true, state: undefined };
  const parsed = retryStateSchema.safeParse(message[RETRY_STATE_FIELD]);
  if (parsed.success) return { ok: true, state: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `the message's ${[RETRY_STATE_FIELD, ...(issue?.path ?? [])].join('.')} is malformed: ${issue?.message}` };
}

/** The event alone, as Event Grid sent it: what a replay sends back, with its attempt count reset. */
export function withoutRetryState(message: Record<string, unknown>): Record<string, unknown> {
  const { [RETRY_STATE_FIELD]: _dropped, ...event } = message;
  return event;
}

/** The message that asks for another attempt: the event, and the state of its retries beside it. */
export function withRetryState(message: Record<string, unknown>, state: RetryState): Record<string, unknown> {
  return { ...withoutRetryState(message), [RETRY_STATE_FIELD]: state };
}

/** How long attempt `attempt` (2, 3, ...) waits: `delaysMs[attempt - 2]` (RETRY_DELAYS), the last one repeated. */
export function retryDelayMs(delaysMs: readonly number[], attempt: number): number {
  return delaysMs[Math.min(Math.max(attempt - 2, 0), delaysMs.length - 1)] ?? 0;
}
