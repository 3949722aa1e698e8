import type { InvocationContext } from '@azure/functions';
import { type BackupSettings, readRetryState, type RetryStateRead } from '@blobferry/contract';
import { backupKeyFor, KeyTooLongError } from '@blobferry/transfer';
import { SpanStatusCode } from '@opentelemetry/api';
import type { ActionResult } from './actions/action-result.js';
import { deleteDirectory, renameBlob, renameDirectory } from './actions/hierarchical.js';
import { applyDeletePolicy, backUpBlob } from './actions/one-blob.js';
import type { BackupClients } from './clients.js';
import { causeOf, classifyFailure } from './failure-model.js';
import { errorSummary } from './redact.js';
import { retryLater } from './retry-later.js';
import type { SharedState } from './state/shared-state.js';
import { recordEvent, tracer } from './telemetry.js';
import { type BlobRef, validateBlobEvent, type ValidBlobEvent } from './validate-event.js';

export interface BackupDeps {
  config: BackupSettings;
  clients: BackupClients;
  /** What the instances share: recorded permanent failures, outages. One per process. */
  state: SharedState;
}

/** What happened to one event; `outcome` is the fixed vocabulary logs and metrics use (README "Outcomes"). */
export interface EventOutcome {
  outcome: ActionResult['outcome'] | 'refused' | 'failed-permanent' | 'will-retry' | 'requeue-failed' | 'failed-unclassified';
  key?: string;
  bytes?: number;
  parts?: number;
  reason?: string;
}

/**
 * The event a queue message carries. The runtime hands over parsed JSON when the message text is JSON;
 * Event Grid's documented format is the event as JSON text, but base64-encoded JSON has been observed
 * (MicrosoftDocs/azure-docs#102923), so a string is read as JSON, then as base64 of JSON.
 */
export function eventOfMessage(message: unknown): unknown {
  if (typeof message !== 'string') return message;
  const text = message.trim();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return message;
    try {
      return JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
    } catch {
      return message;
    }
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function runAction(event: ValidBlobEvent, deps: BackupDeps, recordIfPermanent: (blob: BlobRef, error: unknown) => Promise<boolean>) {
  switch (event.kind) {
    case 'created':
    case 'tier-changed':
      return backUpBlob(event, deps);
    case 'deleted':
      return applyDeletePolicy(event, deps);
    case 'renamed':
      return renameBlob(event, deps);
    case 'directory-renamed':
      return renameDirectory(event, { ...deps, recordIfPermanent });
    case 'directory-deleted':
      return deleteDirectory(event, deps);
  }
}

/**
 * Handles one queue message (one Event Grid event), under one failure model (README "Failures"):
 * - done, or refused: returns, and the runtime deletes the message;
 * - a permanent failure: recorded in the state container, logged, returns (dropped, never poisoned);
 * - a transient failure: the event is put back into the queue with the next RETRY_DELAYS delay, then returns;
 *   if putting it back fails, throws (the runtime tries again, then poisons it; the sweep replays the poison queue);
 * - anything else: throws, so the runtime tries it again and then moves it to the poison queue, whose alert pages.
 */
export async function handleBlobEvent(message: unknown, context: InvocationContext, deps: BackupDeps): Promise<EventOutcome> {
  const started = performance.now();
  return tracer().startActiveSpan('backupBlob', async (span) => {
    const received = eventOfMessage(message);
    const retry: RetryStateRead = isRecord(received) ? readRetryState(received) : { ok: true, state: undefined };
    const validation = retry.ok
      ? validateBlobEvent(received, deps.config)
      : {
          ok: false as const,
          eventId: isRecord(received) && typeof received.id === 'string' ? received.id : undefined,
          reason: retry.reason,
        };
    const eventId = validation.ok ? validation.event.eventId : validation.eventId;
    const dequeueCount = context.triggerMetadata?.dequeueCount;
    const base = {
      event: 'backupBlob',
      eventId,
      invocationId: context.invocationId,
      ...(typeof dequeueCount === 'number' ? { dequeueCount } : {}),
      attempt: retry.ok ? (retry.state?.attempt ?? 1) : undefined,
      eventType: validation.ok ? validation.event.kind : undefined,
      url: validation.ok ? validation.event.blob.url : undefined,
      sequencer: validation.ok ? validation.event.sequencer : undefined,
    };
    span.setAttributes({ 'blobferry.event_id': eventId ?? '', 'blobferry.blob_url': base.url ?? '' });
    const finish = (result: EventOutcome, level: 'info' | 'warn' | 'error', extra: Record<string, unknown> = {}) => {
      const durationMs = Math.round(performance.now() - started);
      recordEvent(result.outcome, durationMs, result.outcome === 'copied' ? (result.bytes ?? 0) : 0);
      span.setAttribute('blobferry.outcome', result.outcome);
      context[level](JSON.stringify({ ...base, ...result, ...extra, durationMs }));
      span.end();
      return result;
    };

    if (!validation.ok || !isRecord(received)) {
      return finish({ outcome: 'refused', reason: validation.ok ? 'the event is not a JSON object' : validation.reason }, 'warn');
    }
    const event = validation.event;
    const { state } = deps;
    const recordPermanent = async (blob: BlobRef, error: unknown) => {
      await state.failures.record({
        account: blob.account,
        container: blob.container,
        blobName: blob.blobName,
        url: blob.url,
        ...keyOf(blob, error, deps.config),
        reason: errorSummary(error),
        errorClass: error instanceof Error ? error.name : 'Error',
        eventId: event.eventId,
      });
    };
    // State shared with the other instances is kept up to date on a best effort: the message's fate never hangs on it.
    const stateProblems: string[] = [];
    const bestEffort = async (what: string, update: () => Promise<unknown>) => {
      try {
        await update();
      } catch (error) {
        stateProblems.push(`${what}: ${errorSummary(error)}`);
      }
    };
    const withStateProblems = () => (stateProblems.length > 0 ? { stateProblems } : {});

    let result: ActionResult;
    try {
      result = await runAction(event, deps, async (blob, error) => {
        if (classifyFailure(error).rule !== 'permanent') return false;
        await recordPermanent(blob, error);
        return true;
      });
    } catch (thrown) {
      let error = thrown;
      let failure = classifyFailure(error);
      if (failure.rule === 'permanent') {
        try {
          await recordPermanent(event.blob, error);
          return finish({ outcome: 'failed-permanent', ...keyOf(event.blob, error, deps.config), reason: errorSummary(error) }, 'error', {
            recorded: true,
          });
        } catch (recordError) {
          // Recording is part of the decision: without it, the message is tried again later.
          error = recordError;
          failure = classifyFailure(error);
        }
      }
      const reason = errorSummary(error);
      span.recordException(reason);
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      if (failure.rule !== 'transient') {
        finish({ outcome: 'failed-unclassified', reason }, 'error', {
          cause: failure.rule === 'unclassified' ? failure.cause : causeOf(error),
        });
        throw error;
      }
      const { dependency, cause } = failure;
      if (dependency) await bestEffort(`recording that ${dependency} fails`, () => state.outages.failing(dependency, cause));
      let scheduled;
      try {
        scheduled = await retryLater({
          queue: deps.clients.backupQueue,
          message: received,
          arrivedWith: retry.ok ? retry.state : undefined,
          delaysMs: deps.config.RETRY_DELAYS,
          lastError: `${cause}: ${reason}`,
          now: new Date(),
        });
      } catch (queueError) {
        finish({ outcome: 'requeue-failed', reason }, 'error', {
          cause,
          dependency,
          queueError: errorSummary(queueError),
          ...withStateProblems(),
        });
        throw error;
      }
      return finish({ outcome: 'will-retry', reason }, 'warn', {
        cause,
        ...(dependency ? { dependency } : {}),
        nextAttempt: scheduled.attempt,
        retryInMs: scheduled.retryInMs,
        firstFailedAt: scheduled.firstFailedAt,
        ...withStateProblems(),
      });
    }

    await bestEffort('ending outages', () => state.outages.working(result.proven));
    for (const blob of result.backedUp) await bestEffort('clearing a failure record', () => state.failures.clear(blob));
    const { outcome, key, bytes, parts, details, warn } = result;
    return finish(
      { outcome, ...(key !== undefined ? { key } : {}), ...(bytes !== undefined ? { bytes, parts } : {}) },
      warn || stateProblems.length > 0 ? 'warn' : 'info',
      { ...details, ...withStateProblems() },
    );
  });
}

/** The key a failed blob's backup has, or would have had (a KeyTooLongError names it). */
function keyOf(blob: BlobRef, error: unknown, config: BackupSettings): { key?: string } {
  if (error instanceof KeyTooLongError) return { key: error.key };
  try {
    return { key: backupKeyFor(blob, { prefix: config.BACKUP_PREFIX, layout: config.KEY_LAYOUT }) };
  } catch {
    return {};
  }
}
