import type { Shard } from '../shards.js';

/**
 * Where reconcile's pairs come from: shards, each two sorted listings to merge-join. The live listings of
 * both sides are the default (`planShards`); the sweep reads one page at a time (`sourcePageListing`); an
 * inventory join can stand in for either at scale.
 */
export interface ListingSource {
  shards(abortSignal: AbortSignal): Promise<Shard[]>;
  /**
   * Pairs the source proved in sync itself and never handed over (an inventory join settles them in DuckDB by
   * classifyFromListings' rule), known once the shards are read: counted as `inSync`.
   */
  settled?(): SettledPairs;
}

export interface SettledPairs {
  inSync: number;
  /** Their bytes, for progress. */
  bytes: number;
}
