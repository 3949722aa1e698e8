import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE } from '@blobferry/transfer';
import { GiB, MiB } from './stats.js';

// Sizes and counts of a bench run. `full` is what issue 9 asks for; `quick` is a smoke run of about a minute.

export interface Profile {
  name: 'full' | 'quick';
  defaultRuns: number;
  largeBlob: { size: number; comparisonSize: number };
  smallBlobs: { count: number; size: number };
  verifyList: { count: number; comparisonCount: number; objectSize: number; perFolder: number };
  verifyDeep: { count: number; size: number };
  /** An estate of `count` blobs of mixed sizes, `largeCount` of them over 16 MiB (see estate.ts). */
  backfill: { count: number; largeCount: number };
  /**
   * reconcile-10m: inventory reports of `rows` names each (more than one size shows whether time grows linearly and
   * memory stays flat), DuckDB's memory limit, and the in-sync pairs listing verify runs over in the same cloud.
   */
  reconcile: { rows: number[]; memoryLimitMiB: number; listingPairs: number };
  /** Part size and parts in flight (libs/transfer's defaults) for both tools; files in flight for many-file scenarios. */
  tuning: { partSize: number; concurrency: number; filesInFlight: number };
}

const tuning = { partSize: DEFAULT_PART_SIZE, concurrency: DEFAULT_CONCURRENCY, filesInFlight: 16 };

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    defaultRuns: 3,
    largeBlob: { size: 1 * GiB, comparisonSize: 64 * MiB },
    smallBlobs: { count: 1000, size: 64 * 1024 },
    verifyList: { count: 100_000, comparisonCount: 10_000, objectSize: 256, perFolder: 1000 },
    verifyDeep: { count: 128, size: 16 * MiB },
    backfill: { count: 2_000, largeCount: 3 },
    reconcile: { rows: [10_000_000], memoryLimitMiB: 384, listingPairs: 10_000 },
    tuning,
  },
  quick: {
    name: 'quick',
    defaultRuns: 1,
    largeBlob: { size: 64 * MiB, comparisonSize: 16 * MiB },
    smallBlobs: { count: 100, size: 64 * 1024 },
    verifyList: { count: 2_500, comparisonCount: 500, objectSize: 256, perFolder: 250 },
    verifyDeep: { count: 8, size: 8 * MiB },
    backfill: { count: 200, largeCount: 2 },
    reconcile: { rows: [100_000], memoryLimitMiB: 384, listingPairs: 1_000 },
    tuning,
  },
};
