export { parseBlobUrl, type ParsedBlobUrl } from './blob-url.js';
export { backupKeyFor, keyMappingFor, type KeyMapping } from './backup-key.js';
export { copyBlobToS3, DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, type CopyBlobToS3Options } from './copy.js';
export type { CopyResult } from './copy-context.js';
export { withUnsignedPayload } from './unsigned-payload.js';
export { digestBlob, digestObject, type DigestBlobOptions } from './digest.js';
export { fullObjectChecksumOf, headTarget } from './target.js';
export {
  ContentMd5MismatchError,
  InvalidBlobUrlError,
  KeyTooLongError,
  ObjectTooLargeError,
  PermanentTransferError,
  SourceChangedError,
  SourceNotFoundError,
  TargetChangedError,
} from './errors.js';
export { decodeHeaderValue, encodeHeaderValue } from './metadata.js';
export {
  compareSequencers,
  isDeleteStale,
  judge,
  normalizeSequencer,
  recordedSourceOf,
  type RecordedSource,
  type TargetState,
  type Verdict,
} from './ordering.js';
export { httpStatusOf, isRetryable } from './classify.js';
export type { ChecksumAlgorithm, FullObjectChecksumAlgorithm } from './checksum.js';
export { AMAZON_S3_FEATURES, EndpointFeatureRejectedError, type S3EndpointFeatures } from './s3-endpoint.js';
