// Point-in-time restore of a container's S3 backups into Azure Blob Storage: what each name was at a time in the
// source's clock (versions and delete markers), written back checked against what the backup recorded.
export { RestoreSetupError } from './errors.js';
export {
  restore,
  RESTORE_KINDS,
  softDeleteEnabled,
  type KindTotals,
  type RestoreItem,
  type RestoreKind,
  type RestoreOptions,
  type RestoreOutcome,
  type RestoreSummary,
} from './restore.js';
export { listRestorePoints, type ListRestorePointsOptions, type RestorePoint } from './restore-points.js';
export type { ByteCheck } from './byte-check.js';
export type { BlobType } from './recorded-version.js';
export type { CopyPath } from './target-write.js';
export { copyPathFor, DEFAULT_BLOCK_BYTES } from './write-blob.js';
