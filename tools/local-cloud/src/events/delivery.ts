import type { QueueClient } from '@azure/storage-queue';
import pLimit from 'p-limit';
import type { DeadLetteredEvent, EventGridEvent } from '../types.js';
import { failedWith, outcomeForStatus, type AttemptOutcome } from './attempt-outcome.js';
import type { DeadLetterContainer } from './dead-letter-container.js';
import { neverRetried, retryDelayMs } from './retry-schedule.js';
import { postEvents, validateWebhook } from './webhook.js';

// At-least-once delivery the way an Event Grid subscription does it: each event is retried on Event Grid's
// schedule until it is delivered, its attempts run out, its time to live passes, or the destination answers
// a status no retry can fix; then it is dead-lettered (into the dead-letter container) with Event Grid's
// dead-letter properties. Retries and dead letters are logged.
// This schedule is an emulation of Azure's, not a retry policy of blobferry's (that is
// @blobferry/retry-policy, for the requests blobferry sends): it stands for what Event Grid does to
// deliveries, attempt by attempt, with the attempt counts and outcomes a dead letter records.

/**
 * Where the subscription delivers: a Storage queue (endpointType StorageQueue: one event per message, as
 * JSON text, no deadline), a webhook (the 30 s answer deadline applies), or an in-process handler.
 */
export type DeliveryTarget = { queue: QueueClient } | { webhookUrl: string } | { handler: (event: EventGridEvent) => Promise<void> };

export interface DeliveryOptions {
  target: DeliveryTarget;
  /** The subscription's retry policy: attempts, and minutes an event lives. */
  maxAttempts: number;
  timeToLiveMinutes: number;
  /** Event Grid's clock, compressed for tests: every retry delay and the time to live are multiplied by it. */
  timeScale: number;
  concurrency: number;
  deadLetters: DeadLetterContainer;
  topic: string;
  log: (entry: Record<string, unknown>) => void;
}

/** Attempts made to fail on purpose (`events.failNext`), as if the destination had answered `status`. */
export interface InjectedDeliveryFailure {
  /** How many attempts fail (default 1). */
  times?: number;
  /** The destination's answer (default 503: Busy, retried); 400, 403 and 413 are never retried. */
  status?: number;
}

export class EventDelivery {
  private readonly limit;
  private readonly deliveredEvents: EventGridEvent[] = [];
  private readonly deadLetteredEvents: EventGridEvent[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly injected: Array<{ remaining: number; status: number }> = [];
  private inFlight = 0;
  /** The subscription handshake, shared by every delivery that starts while it runs; cleared when it fails. */
  private webhookValidation: Promise<AttemptOutcome> | undefined;
  private closed = false;

  constructor(private readonly options: DeliveryOptions) {
    this.limit = pLimit(options.concurrency);
  }

  /** Resolves once no event is being delivered, waiting for a retry, or waiting to be written as a dead letter. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 && !this.closed) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.options.deadLetters.idle();
  }

  delivered(): EventGridEvent[] {
    return [...this.deliveredEvents];
  }

  deadLettered(): EventGridEvent[] {
    return [...this.deadLetteredEvents];
  }

  failNext(failure: InjectedDeliveryFailure = {}): void {
    this.injected.push({ remaining: failure.times ?? 1, status: failure.status ?? 503 });
  }

  enqueue(event: EventGridEvent): void {
    this.inFlight += 1;
    this.schedule(event, 1, 0, new Date().toISOString());
  }

  /** Stops retrying; the dead letters waiting to be written are written now. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.options.deadLetters.close();
  }

  private after(delayMs: number, work: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      work();
    }, delayMs);
    this.timers.add(timer);
  }

  private schedule(event: EventGridEvent, attempt: number, delayMs: number, publishTime: string): void {
    this.after(delayMs, () => void this.limit(() => this.attempt(event, attempt, publishTime)));
  }

  private async attempt(event: EventGridEvent, attempt: number, publishTime: string): Promise<void> {
    if (this.closed) return;
    const outcome = await this.send(event);
    if (this.closed) return;
    if (outcome.ok) {
      this.deliveredEvents.push(event);
      this.inFlight -= 1;
      return;
    }
    const { maxAttempts, timeToLiveMinutes, timeScale, target, log } = this.options;
    const dead = (reason: DeadLetteredEvent['deadLetterReason']) =>
      this.deadLetter(event, { reason, attempts: attempt, outcome, publishTime });
    if (neverRetried(outcome.httpStatus, 'webhookUrl' in target ? 'webhook' : 'azure-resource'))
      return dead('UndeliverableDueToClientError');
    if (attempt >= maxAttempts) return dead('MaxDeliveryAttemptsExceeded');
    const backoffMs = retryDelayMs(attempt, timeScale);
    const expiresInMs = Date.parse(publishTime) + timeToLiveMinutes * 60_000 * timeScale - Date.now();
    if (expiresInMs <= backoffMs) {
      this.after(Math.max(0, expiresInMs), () => dead('TimeToLiveExceeded'));
      return;
    }
    log({
      level: 'warn',
      msg: 'event delivery failed; will retry',
      eventId: event.id,
      subject: event.subject,
      attempt,
      maxAttempts,
      backoffMs,
      lastDeliveryOutcome: outcome.outcome,
      lastHttpStatusCode: outcome.httpStatus,
      error: outcome.error,
    });
    this.schedule(event, attempt + 1, backoffMs, publishTime);
  }

  private deadLetter(
    event: EventGridEvent,
    o: { reason: DeadLetteredEvent['deadLetterReason']; attempts: number; outcome: AttemptOutcome; publishTime: string },
  ): void {
    const record: DeadLetteredEvent = {
      ...event,
      deadLetterReason: o.reason,
      deliveryAttempts: o.attempts,
      lastDeliveryOutcome: o.outcome.outcome,
      lastHttpStatusCode: o.outcome.httpStatus,
      publishTime: o.publishTime,
      lastDeliveryAttemptTime: new Date().toISOString(),
    };
    this.options.log({
      level: 'error',
      msg: 'event dead-lettered',
      eventId: event.id,
      subject: event.subject,
      deadLetterReason: o.reason,
      deliveryAttempts: o.attempts,
      lastDeliveryOutcome: o.outcome.outcome,
      lastHttpStatusCode: o.outcome.httpStatus,
      error: o.outcome.error,
    });
    this.options.deadLetters.add(record);
    this.deadLetteredEvents.push(event);
    this.inFlight -= 1;
  }

  private takeInjectedFailure(): AttemptOutcome | undefined {
    const next = this.injected[0];
    if (!next) return undefined;
    next.remaining -= 1;
    if (next.remaining <= 0) this.injected.shift();
    return failedWith(next.status, 'injected by events.failNext');
  }

  private async send(event: EventGridEvent): Promise<AttemptOutcome> {
    const injected = this.takeInjectedFailure();
    if (injected) return injected;
    const { target, topic } = this.options;
    if ('queue' in target) {
      try {
        // messageTimeToLive -1: the subscription's storageQueueMessageTimeToLiveInSeconds is unlimited.
        await target.queue.sendMessage(JSON.stringify(event), { messageTimeToLive: -1 });
        return { ok: true, outcome: 'Succeeded', httpStatus: 201 };
      } catch (error) {
        const status = (error as { statusCode?: number }).statusCode ?? 0;
        return {
          ok: false,
          outcome: status === 0 ? 'GenericError' : outcomeForStatus(status),
          httpStatus: status,
          error: (error as Error).message,
        };
      }
    }
    if ('handler' in target) {
      try {
        await target.handler(event);
        return { ok: true, outcome: 'Succeeded', httpStatus: 200 };
      } catch (error) {
        return { ok: false, outcome: 'GenericError', httpStatus: 0, error: error instanceof Error ? error.message : String(error) };
      }
    }
    const { webhookUrl } = target;
    this.webhookValidation ??= validateWebhook(webhookUrl, topic).then((validation) => {
      if (validation.ok) this.options.log({ msg: 'webhook subscription validated', webhookUrl });
      else this.webhookValidation = undefined;
      return validation;
    });
    const validation = await this.webhookValidation;
    if (!validation.ok) return { ...validation, error: `subscription validation failed: ${validation.error ?? validation.outcome}` };
    return postEvents(webhookUrl, [event]);
  }
}
