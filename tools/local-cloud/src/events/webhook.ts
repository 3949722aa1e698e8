import { randomUUID } from 'node:crypto';
import type { EventGridEvent } from '../types.js';
import { outcomeForStatus, type AttemptOutcome } from './attempt-outcome.js';

// Event Grid's webhook protocol: a SubscriptionValidation handshake (the endpoint must echo the
// validation code), then each delivery is a POST of a JSON array with `aeg-event-type: Notification`.

/** Event Grid waits this long for an answer, then counts the attempt as failed (TimedOut) and retries. */
export const EVENT_GRID_DEADLINE_MS = 30_000;

function failure(error: unknown): AttemptOutcome {
  const timedOut = error instanceof Error && error.name === 'TimeoutError';
  return { ok: false, outcome: timedOut ? 'TimedOut' : 'GenericError', httpStatus: 0, error: (error as Error).message };
}

export async function postEvents(webhookUrl: string, events: EventGridEvent[]): Promise<AttemptOutcome> {
  try {
    const response = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body: JSON.stringify(events),
      signal: AbortSignal.timeout(EVENT_GRID_DEADLINE_MS),
    });
    await response.arrayBuffer();
    const outcome = outcomeForStatus(response.status);
    return { ok: outcome === 'Succeeded', outcome, httpStatus: response.status };
  } catch (error) {
    return failure(error);
  }
}

/** Sends the SubscriptionValidation event; succeeds only if the endpoint echoes the code back. */
export async function validateWebhook(webhookUrl: string, topic: string): Promise<AttemptOutcome> {
  const validationCode = randomUUID();
  const event: EventGridEvent = {
    id: randomUUID(),
    topic,
    subject: '',
    eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
    eventTime: new Date().toISOString(),
    data: { validationCode },
    dataVersion: '2',
    metadataVersion: '1',
  };
  try {
    const response = await fetch(webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'SubscriptionValidation' },
      body: JSON.stringify([event]),
      signal: AbortSignal.timeout(EVENT_GRID_DEADLINE_MS),
    });
    const text = await response.text();
    if (!response.ok) return { ok: false, outcome: outcomeForStatus(response.status), httpStatus: response.status };
    let echoed: unknown;
    try {
      echoed = (JSON.parse(text) as { validationResponse?: unknown }).validationResponse;
    } catch {
      echoed = undefined;
    }
    if (echoed !== validationCode) {
      return {
        ok: false,
        outcome: 'GenericError',
        httpStatus: response.status,
        error: 'webhook did not answer the SubscriptionValidation handshake with {"validationResponse": <validationCode>}',
      };
    }
    return { ok: true, outcome: 'Succeeded', httpStatus: response.status };
  } catch (error) {
    return failure(error);
  }
}
