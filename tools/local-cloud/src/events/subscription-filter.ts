import type { EventGridEvent } from '../types.js';

// The parts of an Event Grid subscription's filter that blobferry's subscriptions use: the event types it
// includes (`includedEventTypes`) and the operations it excludes (an advanced filter `data.api` StringNotIn).
// An event the filter refuses is never delivered: no attempt, no retry, no dead letter.

export interface SubscriptionFilter {
  includedEventTypes: readonly string[];
  /** `data.api` values excluded (StringNotIn); an event without `data.api` is not excluded. */
  excludedApis: readonly string[];
}

export function passesFilter(filter: SubscriptionFilter, event: EventGridEvent): boolean {
  if (!filter.includedEventTypes.includes(event.eventType)) return false;
  const api = (event.data as { api?: unknown } | null)?.api;
  if (typeof api !== 'string') return true;
  // Event Grid compares the strings of advanced filters without regard to case.
  const excluded = new Set(filter.excludedApis.map((value) => value.toLowerCase()));
  return !excluded.has(api.toLowerCase());
}
