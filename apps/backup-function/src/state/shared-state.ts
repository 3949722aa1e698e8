import type { ContainerClient } from '@azure/storage-blob';
import { FailureRecords } from './failure-records.js';
import { Outages } from './outages.js';

/** A record another instance wrote is seen within this long by an instance that looks for it. */
export const STATE_LISTING_MAX_AGE_MS = 30_000;

/** What the Function's instances share in the state container (STATE_CONTAINER_URL). */
export interface SharedState {
  outages: Outages;
  failures: FailureRecords;
}

export interface SharedStateOptions {
  listingMaxAgeMs?: number;
  now?: () => Date;
}

/** One per process: each keeps the listings it looked at, so successes cost no request. */
export function createSharedState(container: ContainerClient, o: SharedStateOptions = {}): SharedState {
  const options = { container, listingMaxAgeMs: o.listingMaxAgeMs ?? STATE_LISTING_MAX_AGE_MS, ...(o.now ? { now: o.now } : {}) };
  return { outages: new Outages(options), failures: new FailureRecords(options) };
}
