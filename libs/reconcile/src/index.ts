// The engine behind `blobferry verify` and `backfill`: both sides listed as sorted streams, merge-joined,
// classified, and optionally repaired (here with libs/transfer, or through the backup queue).
export {
  reconcile,
  type DeepChecks,
  type Difference,
  type ReconcileCounts,
  type ReconcileOptions,
  type ReconcileProgress,
  type ReconcileSummary,
} from './reconcile.js';
export { DIFFERENCE_KINDS, type Classification, type DifferenceKind } from './classification.js';
export { ReconcileRequestError, type ObjectError, type Operation, type Service } from './failures.js';
export { ListingOrderError } from './listing/merge-join.js';
export type { SourceBlob } from './listing/source-listing.js';
export type { TargetObject } from './listing/target-listing.js';
export type { RepairOptions, RepairResult } from './repair/repair.js';
export { queueRepair, type QueueRepair } from './repair/queue-repair.js';
export { openQueueJournal, type QueueJournal } from './repair/queue-journal.js';
