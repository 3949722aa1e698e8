// Event Grid's retry policy (docs: "Event Grid message delivery and retry"), on a clock that tests may
// compress: the delays before each retry, the time to live and the status codes it never retries. Event
// Grid adds a small random spread to each delay and may skip retries to an endpoint it finds unhealthy;
// neither is emulated, so a test can count on the schedule.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** The delay after the first, second, ... failed attempt; every later retry waits 12 hours. */
const DELAYS_MS = [10 * SECOND, 30 * SECOND, MINUTE, 5 * MINUTE, 10 * MINUTE, 30 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR];
const LATER_DELAY_MS = 12 * HOUR;

/** Event Grid writes a dead letter this long after the event's last attempt, to batch its blob writes. */
export const DEAD_LETTER_DELAY_MS = 5 * MINUTE;

/** Defaults of a subscription's retry policy: 30 attempts, 1,440 minutes to live. */
export const DEFAULT_MAX_ATTEMPTS = 30;
export const DEFAULT_TIME_TO_LIVE_MINUTES = 1440;

/** Before retry number `failedAttempts`, at Event Grid's pace times `timeScale`. */
export function retryDelayMs(failedAttempts: number, timeScale: number): number {
  return (DELAYS_MS[failedAttempts - 1] ?? LATER_DELAY_MS) * timeScale;
}

/**
 * Statuses that can never succeed on a retry, which Event Grid dead-letters at once: 400, 413 and 403 from an
 * Azure resource (a storage queue), and 401 too from a webhook.
 */
export function neverRetried(status: number, destination: 'azure-resource' | 'webhook'): boolean {
  return [400, 413, 403].includes(status) || (destination === 'webhook' && status === 401);
}
