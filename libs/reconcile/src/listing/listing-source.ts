import type { Shard } from '../shards.js';

/**
 * Where reconcile's pairs come from: shards, each two sorted listings to merge-join. The live listings of
 * both sides are the default (`planShards`); the sweep reads one page at a time (`sourcePageListing`); an
 * inventory join can stand in for either at scale.
 */
export interface ListingSource {
  shards(abortSignal: AbortSignal): Promise<Shard[]>;
}
