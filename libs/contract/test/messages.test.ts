import { describe, expect, it } from 'vitest';
import {
  backfillBatch,
  backfillBatchSchema,
  backfillMessage,
  BATCH_MAX_ENTRIES,
  deadLetterPrefixOf,
  eventOfDeadLetter,
  failureRecordName,
  isBackfillBatch,
  queueConnectionOf,
  readRetryState,
  retryDelayMs,
  withoutRetryState,
  withRetryState,
} from '../src/index.js';

const event = {
  id: '831e1650-001e-001b-66ab-eeb76e069631',
  topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct',
  subject: '/blobServices/default/containers/photos/blobs/a.jpg',
  eventType: 'Microsoft.Storage.BlobCreated',
  eventTime: '2017-06-26T18:41:00.9584103Z',
  data: { api: 'PutBlob', url: 'https://acct.blob.core.windows.net/photos/a.jpg', contentLength: 3 },
  dataVersion: '',
  metadataVersion: '1',
};

describe('the retry state beside an event', () => {
  it('is absent on a live event, and round-trips beside it', () => {
    expect(readRetryState(event)).toEqual({ ok: true, state: undefined });
    const state = { attempt: 3, firstFailedAt: '2026-01-01T00:00:00.000Z', lastError: 'S3: connection refused (ECONNREFUSED)' };
    const message = withRetryState(event, state);
    expect(message).toEqual({ ...event, blobferry: state });
    expect(readRetryState(message)).toEqual({ ok: true, state });
    // A replay sends the event alone: its attempt count starts again.
    expect(withoutRetryState(message)).toEqual(event);
    expect(withRetryState(message, { ...state, attempt: 4 })).toEqual({ ...event, blobferry: { ...state, attempt: 4 } });
  });

  it('is refused when malformed, naming the field', () => {
    const read = readRetryState({ ...event, blobferry: { attempt: 'two', firstFailedAt: 'x', lastError: '' } });
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.reason).toMatch(/^the message's blobferry\.attempt is malformed/);
    expect(readRetryState({ ...event, blobferry: null }).ok).toBe(false);
  });

  it('waits RETRY_DELAYS in order for attempts 2, 3, ..., the last one repeated', () => {
    const delays = [30_000, 60_000, 120_000, 300_000];
    expect([2, 3, 4, 5, 6, 50].map((attempt) => retryDelayMs(delays, attempt))).toEqual([
      30_000, 60_000, 120_000, 300_000, 300_000, 300_000,
    ]);
  });
});

describe('Event Grid dead letters', () => {
  it('lie under the subscription name in upper case', () => {
    expect(deadLetterPrefixOf('blobferry-Backup')).toBe('BLOBFERRY-BACKUP/');
  });

  it('give back the event without the dead-letter fields', () => {
    const deadLettered = {
      ...event,
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 30,
      lastDeliveryOutcome: 'TimedOut',
      lastHttpStatusCode: 408,
      publishTime: '2017-06-26T18:41:00.9584103Z',
      lastDeliveryAttemptTime: '2017-06-27T18:41:00.9584103Z',
    };
    expect(eventOfDeadLetter(deadLettered)).toEqual({ ok: true, event });
  });

  it.each([
    ['not an object', 'text', /not a JSON object/],
    ['no id', { ...event, id: undefined }, /id/],
    ['no data', { ...event, data: 'x' }, /data/],
    ['a bad eventTime', { ...event, eventTime: 'yesterday' }, /eventTime/],
  ])('refuse an entry with %s, saying why', (_name, entry, reason) => {
    const read = eventOfDeadLetter(entry);
    expect(read.ok).toBe(false);
    expect(read.ok ? '' : read.reason).toMatch(reason);
  });
});

describe('the backup queue connection', () => {
  it('is a connection string locally, the queue service with the identity on Azure', () => {
    expect(queueConnectionOf({ BACKUP_QUEUE: 'UseDevelopmentStorage=true', BACKUP_QUEUE_NAME: 'events' })).toEqual({
      ok: true,
      connection: { kind: 'connection-string', connectionString: 'UseDevelopmentStorage=true', queueName: 'events' },
    });
    expect(
      queueConnectionOf({
        BACKUP_QUEUE__queueServiceUri: 'https://host.queue.core.windows.net/',
        BACKUP_QUEUE__credential: 'managedidentity',
        BACKUP_QUEUE__clientId: 'client-id',
      }),
    ).toEqual({
      ok: true,
      connection: {
        kind: 'managed-identity',
        queueServiceUri: 'https://host.queue.core.windows.net',
        clientId: 'client-id',
        queueName: 'blob-events',
      },
    });
  });

  it('names the settings when neither is set, without echoing a value', () => {
    const result = queueConnectionOf({ BACKUP_QUEUE_NAME: 'secret-ish' });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toMatch(/^BACKUP_QUEUE: required: BACKUP_QUEUE__queueServiceUri/);
    expect(result.ok ? '' : result.error).not.toContain('secret-ish');
  });
});

describe('failure records', () => {
  it('are named by a hash of the blob name, so any name (and any key length) gives a short, safe name', () => {
    const long = failureRecordName({ account: 'Acct', container: 'photos', blobName: `${'y'.repeat(1100)}/?#%` });
    expect(long).toMatch(/^failures\/acct\/photos\/[0-9a-f]{64}\.json$/);
    expect(failureRecordName({ account: 'acct', container: 'photos', blobName: 'a' })).not.toBe(
      failureRecordName({ account: 'acct', container: 'photos', blobName: 'b' }),
    );
  });
});

describe('a backfill batch message', () => {
  const entry = backfillMessage({
    container: 'photos',
    blobUrl: 'https://acct.blob.core.windows.net/photos/a.jpg?sv=secret',
    blob: { name: 'a.jpg', etag: '"0x1"', lastModified: new Date('2026-12-01T00:00:00Z'), size: 3 },
  });

  it('carries backfill messages, and is told from a single event', () => {
    const batch = backfillBatch([entry, entry]);
    expect(backfillBatchSchema.parse(JSON.parse(JSON.stringify(batch)))).toEqual(batch);
    expect(batch.entries[0]?.data.url).toBe('https://acct.blob.core.windows.net/photos/a.jpg');
    expect(isBackfillBatch(batch)).toBe(true);
    expect(isBackfillBatch(event)).toBe(false);
    expect(isBackfillBatch(entry)).toBe(false);
  });

  it('refuses a batch over the count cap, an empty one, and one holding a live event (only backfills are batched)', () => {
    expect(backfillBatchSchema.safeParse(backfillBatch(Array(BATCH_MAX_ENTRIES + 1).fill(entry))).success).toBe(false);
    expect(backfillBatchSchema.safeParse(backfillBatch([])).success).toBe(false);
    const live = backfillBatchSchema.safeParse({ ...backfillBatch([entry]), entries: [entry, event] });
    expect(live.success ? [] : live.error.issues[0]?.path.slice(0, 2)).toEqual(['entries', 1]);
  });
});
