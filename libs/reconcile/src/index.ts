// The engine behind `blobferry verify` and `backfill`: both sides listed as sorted streams, merge-joined,
// classified, and optionally repaired (here with libs/transfer, or through the backup queue); and behind
// `blobferry replay` and the sweep's replay: the poison queue and Event Grid's dead letters put back into it.
export { reconcile, type Difference, type ReconcileOptions, type ReconcileProgress, type ReconcileSummary } from './reconcile.js';
export { ReconcileRequestError, type ObjectError } from './failures.js';
export type { PropertyDifference } from './properties.js';
export { ListingOrderError } from './listing/merge-join.js';
export type { ListingSource, SettledPairs } from './listing/listing-source.js';
export type { Shard } from './shards.js';
export type { SourceBlob } from './listing/source-listing.js';
export type { TargetObject } from './listing/target-listing.js';
export { classifyFromListings, DIFFERENCE_KINDS, type Classification, type DifferenceKind } from './classification.js';
export { mapInOrder } from './ordered-window.js';
export {
  sourcePageListing,
  type SliceCheckpoint,
  type SourcePageListing,
  type SourcePageListingOptions,
} from './listing/source-page-listing.js';
export type { RepairOptions, RepairResult } from './repair/repair.js';
export { queueRepair, type QueueRepair, type QueueRepairOptions } from './repair/queue-repair.js';
export { openQueueJournal, type OpenQueueJournalOptions, type QueueJournal } from './repair/queue-journal.js';
export { replayPoisonQueue, replayTextOf, type PoisonQueueReplay, type ReplayPoisonQueueOptions } from './replay/replay-poison-queue.js';
export {
  replayDeadLetters,
  type DeadLetterReplay,
  type ReplayDeadLettersOptions,
  type SkippedDeadLetter,
} from './replay/replay-dead-letters.js';
