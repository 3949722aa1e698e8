import type { InvocationContext } from '@azure/functions';
import { backupKeyFor, copyBlobToS3, deleteBackup, PermanentTransferError, type DeleteBackupOutcome } from '@blobferry/transfer';
import { SpanStatusCode } from '@opentelemetry/api';
import { type BackupClients, SourceAccountMismatchError } from './clients.js';
import type { BackupSettings } from '@blobferry/contract';
import { errorSummary } from './redact.js';
import { recordEvent, tracer } from './telemetry.js';
import { validateBlobEvent, type ValidBlobEvent } from './validate-event.js';

export interface BackupDeps {
  config: BackupSettings;
  clients: BackupClients;
}

/** What happened to one event; `outcome` is the fixed vocabulary logs and metrics use. */
export interface EventOutcome {
  outcome:
    | 'copied'
    | 'properties-updated'
    | 'skipped-archived-in-target'
    | 'skipped-up-to-date'
    | 'skipped-newer-in-target'
    | 'refused'
    | 'failed-permanent'
    | 'will-retry'
    | 'delete-retained'
    | 'delete-nothing-to-hide'
    | 'delete-stale'
    | 'delete-superseded'
    | 'delete-marker-written';
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

/**
 * Handles one queue message (one Event Grid event). Returning acknowledges it: done, or refused for good.
 * Throwing makes it visible again after host.json's visibilityTimeout; after maxDequeueCount failures the
 * runtime moves it to the poison queue, so the log line of each failure says which attempt it was.
 */
export async function handleBlobEvent(message: unknown, context: InvocationContext, deps: BackupDeps): Promise<EventOutcome> {
  const started = performance.now();
  return tracer().startActiveSpan('backupBlob', async (span) => {
    const validation = validateBlobEvent(eventOfMessage(message), deps.config);
    const eventId = validation.ok ? validation.event.eventId : validation.eventId;
    const dequeueCount = context.triggerMetadata?.dequeueCount;
    const base = {
      event: 'backupBlob',
      eventId,
      invocationId: context.invocationId,
      ...(typeof dequeueCount === 'number' ? { dequeueCount } : {}),
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

    if (!validation.ok) return finish({ outcome: 'refused', reason: validation.reason }, 'warn');
    const event = validation.event;
    try {
      if (event.kind === 'created') {
        const { result, extra } = await backUpCreatedBlob(event, deps);
        return finish(result, extra.contentLengthMismatch ? 'warn' : 'info', extra);
      }
      return finish(await applyDeletePolicy(event, deps), 'info');
    } catch (error) {
      const reason = errorSummary(error);
      if (error instanceof PermanentTransferError || error instanceof SourceAccountMismatchError) {
        return finish({ outcome: 'failed-permanent', reason }, 'error');
      }
      span.recordException(reason);
      span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
      finish({ outcome: 'will-retry', reason }, 'error');
      throw error;
    }
  });
}

async function backUpCreatedBlob(event: ValidBlobEvent, deps: BackupDeps) {
  const { config, clients } = deps;
  const key = backupKeyFor(event.blob, { prefix: config.BACKUP_PREFIX, layout: config.KEY_LAYOUT });
  const copy = await copyBlobToS3({
    source: {
      blob: clients.blobClientFor(event.blob),
      ...(event.sequencer ? { sequencer: event.sequencer } : {}),
      ...(event.contentLength !== undefined ? { lengthHint: event.contentLength } : {}),
    },
    target: {
      s3: clients.s3,
      bucket: config.BACKUP_BUCKET,
      key,
      features: { checksum: config.S3_CHECKSUM, conditionalWrites: config.S3_CONDITIONAL_WRITES },
    },
    partSize: config.PART_SIZE,
    concurrency: config.CONCURRENCY,
  });
  const result: EventOutcome = { outcome: copy.outcome, key, bytes: copy.bytes, parts: copy.parts };
  const extra: Record<string, unknown> = { sourceEtag: copy.sourceEtag };
  // The copy reads the blob's own properties, so a wrong contentLength in the event cannot
  // truncate or pad the backup; the difference is still worth a warning (a lying publisher or
  // an overwrite since the event was raised).
  if (copy.outcome === 'copied' && event.contentLength !== undefined && event.contentLength !== copy.bytes) {
    extra.contentLengthMismatch = { event: event.contentLength, blob: copy.bytes };
  }
  return { result, extra };
}

/**
 * `retain` keeps every backup. `delete-marker` (versioned bucket) hides the backup behind a delete marker,
 * the older versions stay, under libs/transfer's rules for deletes (deleteBackup): never a backup newer than
 * the delete (deliveries arrive out of order), never one whose blob exists again, never on a bucket whose
 * versioning is not Enabled (an UnsafeDeleteError: retried, then kept in the poison queue).
 */
async function applyDeletePolicy(event: ValidBlobEvent, deps: BackupDeps): Promise<EventOutcome> {
  const { config, clients } = deps;
  const key = backupKeyFor(event.blob, { prefix: config.BACKUP_PREFIX, layout: config.KEY_LAYOUT });
  if (config.DELETE_POLICY === 'retain') return { outcome: 'delete-retained', key };
  const outcome = await deleteBackup({
    s3: clients.s3,
    bucket: config.BACKUP_BUCKET,
    key,
    deleteEvent: event,
    // A blob written again after the delete has its own BlobCreated on the way: keep the backup.
    sourceExists: () => clients.blobClientFor(event.blob).exists(),
  });
  return { outcome: DELETE_OUTCOMES[outcome], key };
}

const DELETE_OUTCOMES = {
  'nothing-to-hide': 'delete-nothing-to-hide',
  stale: 'delete-stale',
  // Without `ifMatch`, a conflict at the delete itself is a newer backup landing: stale.
  changed: 'delete-stale',
  superseded: 'delete-superseded',
  'marker-written': 'delete-marker-written',
} as const satisfies Record<DeleteBackupOutcome, EventOutcome['outcome']>;
