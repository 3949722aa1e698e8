import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueueClient } from '@azure/storage-queue';
import pLimit from 'p-limit';
import type { DeadLetteredEvent, EventGridEvent } from '../types.js';
import { postEvents, validateWebhook, type AttemptOutcome } from './webhook.js';

// At-least-once delivery the way Event Grid does it: each event is retried with exponential backoff
// until it succeeds or runs out of attempts, then it is written to the dead-letter folder with
// Event Grid's dead-letter properties. Retries and dead-letters are logged.
// This schedule is an emulation of Azure's, not a retry policy of blobferry's (that is
// @blobferry/retry-policy, for the requests blobferry sends): it stands for what Event Grid does to
// deliveries, attempt by attempt, with the attempt counts and outcomes a dead letter records, so it
// stays a loop of its own (shortened: Event Grid waits 10 s, 30 s, 1 min, ...).

/**
 * Where the subscription delivers: a Storage queue (endpointType StorageQueue: one event per message, as
 * JSON text, no deadline), a webhook (the 30 s answer deadline applies), or an in-process handler.
 */
export type DeliveryTarget = { queue: QueueClient } | { webhookUrl: string } | { handler: (event: EventGridEvent) => Promise<void> };

export interface DeliveryOptions {
  target: DeliveryTarget;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  concurrency: number;
  deadLetterDir: string;
  topic: string;
  log: (entry: Record<string, unknown>) => void;
}

export class EventDelivery {
  private readonly limit;
  private readonly deliveredEvents: EventGridEvent[] = [];
  private readonly deadLetteredEvents: EventGridEvent[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private inFlight = 0;
  /** The subscription handshake, shared by every delivery that starts while it runs; cleared when it fails. */
  private webhookValidation: Promise<AttemptOutcome> | undefined;
  private closed = false;

  constructor(private readonly options: DeliveryOptions) {
    this.limit = pLimit(options.concurrency);
  }

  /** Events being delivered or waiting for a retry. */
  pending(): number {
    return this.inFlight;
  }

  /** Resolves once no event is being delivered or waiting for a retry. */
  async idle(): Promise<void> {
    while (this.inFlight > 0 && !this.closed) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  delivered(): EventGridEvent[] {
    return [...this.deliveredEvents];
  }

  deadLettered(): EventGridEvent[] {
    return [...this.deadLetteredEvents];
  }

  enqueue(event: EventGridEvent): void {
    this.inFlight += 1;
    this.schedule(event, 1, 0, new Date().toISOString());
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(event: EventGridEvent, attempt: number, delayMs: number, publishTime: string): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.limit(() => this.attempt(event, attempt, publishTime));
    }, delayMs);
    this.timers.add(timer);
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
    const { maxAttempts, initialBackoffMs, maxBackoffMs, log } = this.options;
    if (attempt < maxAttempts) {
      const backoffMs = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
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
      return;
    }
    try {
      const file = await this.deadLetter(event, attempt, outcome, publishTime);
      log({
        level: 'error',
        msg: 'event dead-lettered',
        eventId: event.id,
        subject: event.subject,
        deliveryAttempts: attempt,
        lastDeliveryOutcome: outcome.outcome,
        lastHttpStatusCode: outcome.httpStatus,
        error: outcome.error,
        file,
      });
    } catch (error) {
      log({ level: 'error', msg: 'could not write dead-lettered event', eventId: event.id, error: (error as Error).message });
    }
    this.deadLetteredEvents.push(event);
    this.inFlight -= 1;
  }

  private async send(event: EventGridEvent): Promise<AttemptOutcome> {
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
          outcome: status === 404 ? 'NotFound' : status === 403 ? 'Forbidden' : 'GenericError',
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

  private async deadLetter(event: EventGridEvent, attempts: number, outcome: AttemptOutcome, publishTime: string): Promise<string> {
    const record: DeadLetteredEvent = {
      ...event,
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: attempts,
      lastDeliveryOutcome: outcome.outcome,
      lastHttpStatusCode: outcome.httpStatus,
      publishTime,
      lastDeliveryAttemptTime: new Date().toISOString(),
    };
    await mkdir(this.options.deadLetterDir, { recursive: true });
    const file = join(this.options.deadLetterDir, `${event.id}.json`);
    await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
    return file;
  }
}
