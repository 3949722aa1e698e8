import { z } from 'zod';

// Event Grid's dead-letter container: an event it could not deliver (24 h or 30 attempts by default) is
// written there as a blob `<SUBSCRIPTION NAME IN UPPER CASE>/<year>/<month>/<day>/<hour>/<guid>.json` (UTC,
// not zero-padded), holding a JSON array of one or more events, each with the dead-letter fields below
// beside its own. `blobferry replay` and the sweep put those events back into the backup queue.

/** What Event Grid adds to an event it dead-letters ("Dead-letter events" in the Event Grid docs). */
export const DEAD_LETTER_FIELDS = [
  'deadLetterReason',
  'deliveryAttempts',
  'lastDeliveryOutcome',
  'lastHttpStatusCode',
  'publishTime',
  'lastDeliveryAttemptTime',
] as const;

/** The folder of a subscription's dead letters in the container: its name in upper case. */
export function deadLetterPrefixOf(subscriptionName: string): string {
  return `${subscriptionName.toUpperCase()}/`;
}

/** An event in the Event Grid schema, as the subscription writes it into the backup queue. */
export const eventGridEventSchema = z.looseObject({
  id: z.string().min(1),
  topic: z.string().optional(),
  subject: z.string().min(1),
  eventType: z.string().min(1),
  eventTime: z.iso.datetime({ offset: true }),
  data: z.looseObject({}),
  dataVersion: z.string(),
  metadataVersion: z.string(),
});

export type EventGridEvent = z.infer<typeof eventGridEventSchema>;

export type DeadLetteredEventRead = { ok: true; event: EventGridEvent } | { ok: false; reason: string };

/** The event a dead-letter entry holds, without Event Grid's dead-letter fields; refused when it is not one. */
export function eventOfDeadLetter(entry: unknown): DeadLetteredEventRead {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return { ok: false, reason: 'not a JSON object' };
  const event: Record<string, unknown> = { ...entry };
  for (const field of DEAD_LETTER_FIELDS) delete event[field];
  const parsed = eventGridEventSchema.safeParse(event);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, reason: `not an Event Grid event: ${issue?.path.join('.') || 'event'}: ${issue?.message}` };
}
