import { normalizeSequencer, parseBlobUrl } from '@blobferry/transfer';
import { z } from 'zod';
import { type BackupSettings, isSourceAllowed } from '@blobferry/contract';

export const BLOB_CREATED = 'Microsoft.Storage.BlobCreated';
export const BLOB_DELETED = 'Microsoft.Storage.BlobDeleted';
export const BLOB_TIER_CHANGED = 'Microsoft.Storage.BlobTierChanged';
export const BLOB_RENAMED = 'Microsoft.Storage.BlobRenamed';
export const DIRECTORY_RENAMED = 'Microsoft.Storage.DirectoryRenamed';
export const DIRECTORY_DELETED = 'Microsoft.Storage.DirectoryDeleted';

/** The event types the Function acts on, and what each is to it. */
const KIND_OF_TYPE = {
  [BLOB_CREATED]: 'created',
  [BLOB_DELETED]: 'deleted',
  [BLOB_TIER_CHANGED]: 'tier-changed',
  [BLOB_RENAMED]: 'renamed',
  [DIRECTORY_RENAMED]: 'directory-renamed',
  [DIRECTORY_DELETED]: 'directory-deleted',
} as const;
export const HANDLED_EVENT_TYPES = Object.keys(KIND_OF_TYPE) as Array<keyof typeof KIND_OF_TYPE>;
export type EventKind = (typeof KIND_OF_TYPE)[keyof typeof KIND_OF_TYPE];

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
  kind: EventKind;
  eventId: string;
  eventTime: string | undefined;
  /** The blob the event names: for a rename the new name, for a directory event the directory. */
  blob: BlobRef;
  /** Lower-case hex (normalizeSequencer of @blobferry/transfer), undefined when the event has none. */
  sequencer: string | undefined;
  /** BlobCreated and BlobTierChanged: the size the event claims; the copy trusts the blob's own properties. */
  contentLength: number | undefined;
  eTag: string | undefined;
  /** Renames only: the old name. */
  renamedFrom: BlobRef | undefined;
  /**
   * Which names are in ALLOWED_SOURCES. Always `blob` but for a rename, which may move a blob out of an
   * allowed container (its old backup follows the delete policy, nothing is copied) or into one.
   */
  allowed: { blob: boolean; renamedFrom: boolean };
}

export type EventValidation = { ok: true; event: ValidBlobEvent } | { ok: false; eventId: string | undefined; reason: string };

const SUBJECT_PATTERN = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/;
const TOPIC_ACCOUNT_PATTERN = /\/providers\/Microsoft\.Storage\/storageAccounts\/([^/]+)$/i;
// Hierarchical-namespace operations (RenameFile, DeleteDirectory, ...) name the account's dfs endpoint; its
// blobs are read through the blob endpoint of the same account.
const DFS_HOST = /^(https?:\/\/[a-z0-9]{3,24})\.dfs\./i;

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

/** A field kept when it is a string and otherwise ignored: never a reason to refuse. */
const optionalString = z.string().optional().catch(undefined);

const jsonObject = z.looseObject({});
const eventIdSchema = z.string().min(1);

/** A blob URL in `data`, parsed; the issue never carries the URL (it may carry a SAS). */
const blobUrl = (field: string) =>
  z
    .string({ error: `${field} is missing` })
    .min(1, { error: `${field} is missing` })
    .transform((raw, ctx): BlobRef => {
      const url = urlWithoutQuery(raw).replace(DFS_HOST, '$1.blob.');
      try {
        return { ...parseBlobUrl(url), url };
      } catch (error) {
        // parseBlobUrl's message never echoes a query.
        const reason = error instanceof Error ? error.message : String(error);
        ctx.issues.push({ code: 'custom', input: undefined, message: `${field} is not a blob URL: ${reason}` });
        return z.NEVER;
      }
    });

// Normalised once, here where it enters: the ordering module compares lower-case hex.
const sequencer = z.unknown().optional().transform(normalizeSequencer);

/** `data` of each event type, as the Event Grid blob storage schema documents it. */
const oneBlobData = z.looseObject({
  url: blobUrl('data.url'),
  // Checked for BlobCreated only, once the source is known to be allowed (blobSize below).
  contentLength: z.unknown().optional(),
  sequencer,
  eTag: optionalString,
});
const renameData = z.looseObject({
  sourceUrl: blobUrl('data.sourceUrl'),
  destinationUrl: blobUrl('data.destinationUrl'),
  sequencer,
});

/**
 * The fields of an event in the order they are checked; the first issue is the refusal, so each message
 * names the field that is wrong (and none echoes a URL: it may carry a SAS).
 */
const envelopeSchema = z.looseObject({
  id: z.string({ error: 'the event has no id' }).min(1, { error: 'the event has no id' }),
  eventType: z.enum(HANDLED_EVENT_TYPES, {
    error: (issue) => `unsupported eventType ${JSON.stringify(String(issue.input))}: expected one of ${HANDLED_EVENT_TYPES.join(', ')}`,
  }),
  data: z.looseObject({}, { error: 'the event has no data object' }),
});
const subjectSchema = z.looseObject({
  subject: z
    .string({ error: 'the event has no subject' })
    .regex(SUBJECT_PATTERN, { error: 'subject is not /blobServices/default/containers/<container>/blobs/<blob>' })
    .transform((subject) => {
      const [, container = '', blobName = ''] = SUBJECT_PATTERN.exec(subject) ?? [];
      return { container, blobName };
    }),
  topic: optionalString,
  eventTime: optionalString,
});

/** A size a block blob can have. */
const blobSize = z.number().int().min(0).max(MAX_BLOB_BYTES);

const firstIssue = (error: z.ZodError) => error.issues[0]?.message ?? 'the event is not a blob event';

type ParsedData = {
  blob: BlobRef;
  renamedFrom: BlobRef | undefined;
  sequencer: string | undefined;
  contentLength: unknown;
  eTag: string | undefined;
};

function parseData(kind: EventKind, data: Record<string, unknown>): { ok: true; data: ParsedData } | { ok: false; reason: string } {
  if (kind === 'renamed' || kind === 'directory-renamed') {
    const parsed = renameData.safeParse(data);
    if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error) };
    const { sourceUrl, destinationUrl } = parsed.data;
    return {
      ok: true,
      data: { blob: destinationUrl, renamedFrom: sourceUrl, sequencer: parsed.data.sequencer, contentLength: undefined, eTag: undefined },
    };
  }
  const parsed = oneBlobData.safeParse(data);
  if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error) };
  const { url, contentLength, eTag } = parsed.data;
  return { ok: true, data: { blob: url, renamedFrom: undefined, sequencer: parsed.data.sequencer, contentLength, eTag } };
}

/**
 * Decides whether an Event Grid event is a blob event this Function may act on. Anything else is
 * refused with a reason that names what is wrong, and never echoes a query string (it may be a SAS).
 */
export function validateBlobEvent(raw: unknown, config: Pick<BackupSettings, 'ALLOWED_SOURCES'>): EventValidation {
  const object = jsonObject.safeParse(raw);
  if (!object.success) return { ok: false, eventId: undefined, reason: 'the event is not a JSON object' };
  // Known before the rest is checked, so a refusal says which event it was.
  const eventId = eventIdSchema.safeParse(object.data.id).data;
  const refuse = (reason: string): EventValidation => ({ ok: false, eventId, reason });

  const envelope = envelopeSchema.safeParse(object.data);
  if (!envelope.success) return refuse(firstIssue(envelope.error));
  const kind = KIND_OF_TYPE[envelope.data.eventType];
  const data = parseData(kind, envelope.data.data);
  if (!data.ok) return refuse(data.reason);
  const rest = subjectSchema.safeParse(object.data);
  if (!rest.success) return refuse(firstIssue(rest.error));
  const { subject, topic, eventTime } = rest.data;
  const { blob, renamedFrom } = data.data;

  // Event Grid puts the raw blob name in the subject (a rename's new name); accept a percent-encoded one too.
  if (subject.container !== blob.container || (subject.blobName !== blob.blobName && safeDecode(subject.blobName) !== blob.blobName)) {
    return refuse(`subject and data.${renamedFrom ? 'destinationUrl' : 'url'} name different blobs`);
  }
  const topicAccount = topic === undefined ? undefined : TOPIC_ACCOUNT_PATTERN.exec(topic)?.[1];
  for (const named of [blob, renamedFrom]) {
    if (topicAccount && named && topicAccount.toLowerCase() !== named.account.toLowerCase()) {
      return refuse(`topic names storage account ${topicAccount} but the event's URL names ${named.account}`);
    }
  }
  const allowed = {
    blob: isSourceAllowed(config, blob.account, blob.container),
    renamedFrom: renamedFrom !== undefined && isSourceAllowed(config, renamedFrom.account, renamedFrom.container),
  };
  if (!allowed.blob && !allowed.renamedFrom) {
    const from = renamedFrom && `${renamedFrom.account}/${renamedFrom.container}`;
    const to = `${blob.account}/${blob.container}`;
    return refuse(`source ${from && from !== to ? `${from} (renamed to ${to}) is` : `${to} is`} not in ALLOWED_SOURCES`);
  }

  let contentLength: number | undefined;
  if (kind === 'created' || (kind === 'tier-changed' && data.data.contentLength !== undefined)) {
    const size = blobSize.safeParse(data.data.contentLength);
    if (!size.success) {
      return refuse(`data.contentLength ${JSON.stringify(data.data.contentLength ?? null)} is not a plausible blob size`);
    }
    contentLength = size.data;
  }

  return {
    ok: true,
    event: {
      kind,
      eventId: envelope.data.id,
      eventTime,
      blob,
      sequencer: data.data.sequencer,
      contentLength,
      eTag: data.data.eTag,
      renamedFrom,
      allowed,
    },
  };
}
