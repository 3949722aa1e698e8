import { normalizeSequencer, parseBlobUrl } from '@blobferry/transfer';
import { z } from 'zod';
import { type BackupSettings, isSourceAllowed } from '@blobferry/contract';

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

/**
 * The shape of a blob event. Its fields are checked in this order and the first issue is the refusal,
 * so each message names the field that is wrong (and none echoes data.url: it may carry a SAS).
 */
const blobEventSchema = z.looseObject({
  id: z.string({ error: 'the event has no id' }).min(1, { error: 'the event has no id' }),
  eventType: z.enum([BLOB_CREATED, BLOB_DELETED], {
    error: (issue) => `unsupported eventType ${JSON.stringify(String(issue.input))}: expected ${BLOB_CREATED} or ${BLOB_DELETED}`,
  }),
  data: z.looseObject(
    {
      url: z
        .string({ error: 'data.url is missing' })
        .min(1, { error: 'data.url is missing' })
        .transform((url, ctx): BlobRef => {
          try {
            return { ...parseBlobUrl(url), url: urlWithoutQuery(url) };
          } catch (error) {
            // parseBlobUrl's message never echoes a query; the issue does not carry the URL either.
            const reason = error instanceof Error ? error.message : String(error);
            ctx.issues.push({ code: 'custom', input: undefined, message: `data.url is not a blob URL: ${reason}` });
            return z.NEVER;
          }
        }),
      // Checked for BlobCreated only, once the source is known to be allowed (blobSize below).
      contentLength: z.unknown().optional(),
      // Normalised once, here where it enters: the ordering module compares lower-case hex.
      sequencer: z.unknown().optional().transform(normalizeSequencer),
      eTag: optionalString,
    },
    { error: 'the event has no data object' },
  ),
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

  const parsed = blobEventSchema.safeParse(object.data);
  if (!parsed.success) return refuse(parsed.error.issues[0]?.message ?? 'the event is not a blob event');
  const { eventType, data, subject, topic, eventTime } = parsed.data;
  const blob = data.url;

  // Event Grid puts the raw blob name in the subject; accept a percent-encoded one too.
  if (subject.container !== blob.container || (subject.blobName !== blob.blobName && safeDecode(subject.blobName) !== blob.blobName)) {
    return refuse('subject and data.url name different blobs');
  }
  const topicAccount = topic === undefined ? undefined : TOPIC_ACCOUNT_PATTERN.exec(topic)?.[1];
  if (topicAccount && topicAccount.toLowerCase() !== blob.account.toLowerCase()) {
    return refuse(`topic names storage account ${topicAccount} but data.url names ${blob.account}`);
  }
  if (!isSourceAllowed(config, blob.account, blob.container)) {
    return refuse(`source ${blob.account}/${blob.container} is not in ALLOWED_SOURCES`);
  }

  let contentLength: number | undefined;
  if (eventType === BLOB_CREATED) {
    const size = blobSize.safeParse(data.contentLength);
    if (!size.success) return refuse(`data.contentLength ${JSON.stringify(data.contentLength ?? null)} is not a plausible blob size`);
    contentLength = size.data;
  }

  return {
    ok: true,
    event: {
      kind: eventType === BLOB_CREATED ? 'created' : 'deleted',
      eventId: parsed.data.id,
      eventTime,
      blob,
      sequencer: data.sequencer,
      contentLength,
      eTag: data.eTag,
    },
  };
}
