import { normalizeSequencer, parseBlobUrl } from '@blobferry/transfer';
import { type BackupConfig, isSourceAllowed } from './config.js';

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
export const BLOB_DELETED = 'Microsoft.Storage.BlobDeleted';

/** Block blobs top out at about 190.7 TiB; anything larger is not a real blob size. */
const MAX_BLOB_BYTES = 50_000 * 4000 * 1024 * 1024;

export interface BlobRef {
  accountUrl: string;
  account: string;
  container: string;
  blobName: string;
  /** The blob's URL without any query string: safe to log. */
  url: string;
}

export interface ValidBlobEvent {
  kind: 'created' | 'deleted';
  eventId: string;
  eventTime: string | undefined;
  blob: BlobRef;
  /** Lower-case hex (normalizeSequencer of @blobferry/transfer), undefined when the event has none. */
  sequencer: string | undefined;
  /** Only on BlobCreated: the size the event claims; the copy trusts the blob's own properties. */
  contentLength: number | undefined;
  eTag: string | undefined;
}

export type EventValidation = { ok: true; event: ValidBlobEvent } | { ok: false; eventId: string | undefined; reason: string };

const SUBJECT_PATTERN = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;
const TOPIC_ACCOUNT_PATTERN = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function urlWithoutQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

/**
 * Decides whether an Event Grid event is a blob event this Function may act on. Anything else is
 * refused with a reason that names what is wrong, and never echoes a query string (it may be a SAS).
 */
export function validateBlobEvent(
  raw: unknown,
  config: Pick<BackupConfig, 'ALLOWED_SOURCES'>,
): EventValidation {
  if (!isRecord(raw)) return { ok: false, eventId: undefined, reason: 'the event is not a JSON object' };
  const eventId = typeof raw.id === 'string' && raw.id !== '' ? raw.id : undefined;
  const refuse = (reason: string): EventValidation => ({ ok: false, eventId, reason });
  if (!eventId) return refuse('the event has no id');

  const eventType = raw.eventType;
  if (eventType !== BLOB_CREATED && eventType !== BLOB_DELETED) {
    return refuse(`unsupported eventType ${JSON.stringify(String(eventType))}: expected ${BLOB_CREATED} or ${BLOB_DELETED}`);
  }
  const data = raw.data;
  if (!isRecord(data)) return refuse('the event has no data object');
  if (typeof data.url !== 'string' || data.url === '') return refuse('data.url is missing');

  let parsed: ReturnType<typeof parseBlobUrl>;
  try {
    parsed = parseBlobUrl(data.url);
  } catch (error) {
    return refuse(`data.url is not a blob URL: ${error instanceof Error ? error.message : String(error)}`);
  }
  const blob: BlobRef = { ...parsed, url: urlWithoutQuery(data.url) };

  if (typeof raw.subject !== 'string') return refuse('the event has no subject');
  const subject = SUBJECT_PATTERN.exec(raw.subject);
  if (!subject) return refuse('subject is not /blobServices/default/containers/<container>/blobs/<blob>');
  const [, subjectContainer = '', subjectBlob = ''] = subject;
  // Event Grid puts the raw blob name in the subject; accept a percent-encoded one too.
  if (subjectContainer !== blob.container || (subjectBlob !== blob.blobName && safeDecode(subjectBlob) !== blob.blobName)) {
    return refuse('subject and data.url name different blobs');
  }
  if (typeof raw.topic === 'string') {
    const topicAccount = TOPIC_ACCOUNT_PATTERN.exec(raw.topic)?.[1];
    if (topicAccount && topicAccount.toLowerCase() !== blob.account.toLowerCase()) {
      return refuse(`topic names storage account ${topicAccount} but data.url names ${blob.account}`);
    }
  }
  if (!isSourceAllowed(config, blob.account, blob.container)) {
    return refuse(`source ${blob.account}/${blob.container} is not in ALLOWED_SOURCES`);
  }

  let contentLength: number | undefined;
  if (eventType === BLOB_CREATED) {
    const claimed = data.contentLength;
    if (typeof claimed !== 'number' || !Number.isSafeInteger(claimed) || claimed < 0 || claimed > MAX_BLOB_BYTES) {
      return refuse(`data.contentLength ${JSON.stringify(claimed ?? null)} is not a plausible blob size`);
    }
    contentLength = claimed;
  }
  // Normalised once, here where it enters: the ordering module compares lower-case hex.
  const sequencer = normalizeSequencer(data.sequencer);

  return {
    ok: true,
    event: {
      kind: eventType === BLOB_CREATED ? 'created' : 'deleted',
      eventId,
      eventTime: typeof raw.eventTime === 'string' ? raw.eventTime : undefined,
      blob,
      sequencer,
      contentLength,
      eTag: typeof data.eTag === 'string' ? data.eTag : undefined,
    },
  };
}
