// What other projects use: one copy, one delete, the key mapping, the digests verify compares, and the
// errors callers branch on.
export { parseBlobUrl } from './blob-url.js';
export { backupKeyFor, keyMappingFor, SIDECAR_FOLDER, sidecarKeyFor, type KeyMapping } from './backup-key.js';
export { copyBlobToS3, DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, type CopyBlobToS3Options } from './copy.js';
export type { CopyOutcome, CopyResult, PropertyChange, StorageClassByTier } from './copy-context.js';
export { sameRecord } from './records.js';
export { readSidecar, type ReadSidecarOptions, type SidecarDocument } from './sidecar.js';
export { headTarget, type HeadTargetOptions } from './target.js';
export {
  assertVersioningEnabled,
  deleteBackup,
  UnsafeDeleteError,
  type AssertVersioningEnabledOptions,
  type DeleteBackupOptions,
  type DeleteBackupOutcome,
} from './delete-backup.js';
export { withUnsignedPayload } from './unsigned-payload.js';
export { digestBlob, digestObject, type DigestBlobOptions } from './digest.js';
export { fullObjectChecksumOf } from './target.js';
export { BlobArchivedError, KeyTooLongError, PermanentTransferError, SourceChangedError, SourceNotFoundError } from './errors.js';
export {
  compareSequencers,
  normalizeSequencer,
  recordedSourceOf,
  type RecordedSource,
  type TargetObjectState,
  type TargetState,
} from './ordering.js';
// What a restore needs to check the bytes it writes back against what the backup recorded.
export { ContentChecksum, type FullObjectChecksumAlgorithm } from './checksum.js';
export { combineChecksums } from './crc-combine.js';
export { decodeHeaderValue } from './metadata.js';
export { AMAZON_S3_FEATURES, type S3EndpointFeatures } from './s3-endpoint.js';
