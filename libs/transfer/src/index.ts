// What other projects use: the copy, the key mapping, the ordering rules, the digests verify compares,
// and the errors callers branch on.
export { parseBlobUrl } from './blob-url.js';
export { backupKeyFor, keyMappingFor, type KeyMapping } from './backup-key.js';
export { copyBlobToS3, DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, type CopyBlobToS3Options } from './copy.js';
export type { CopyResult } from './copy-context.js';
export { withUnsignedPayload } from './unsigned-payload.js';
export { digestBlob, digestObject, type DigestBlobOptions } from './digest.js';
export { fullObjectChecksumOf, headTarget } from './target.js';
export { KeyTooLongError, PermanentTransferError, SourceChangedError, SourceNotFoundError } from './errors.js';
export { isDeleteStale, normalizeSequencer, recordedSourceOf, type RecordedSource } from './ordering.js';
export { AMAZON_S3_FEATURES, type S3EndpointFeatures } from './s3-endpoint.js';
