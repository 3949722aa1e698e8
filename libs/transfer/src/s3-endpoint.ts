import type { S3Checksum } from '@blobferry/contract';
import type { FullObjectChecksumAlgorithm } from './checksum.js';
import { httpStatusOf } from './classify.js';

/**
 * What the S3 endpoint does with the two features the copy leans on, stated by whoever makes the
 * S3 client (a setting, or the local cloud's stack file) and fixed for the client's life: a copy never
 * changes its behaviour because of what an earlier copy ran into.
 *
 * Measured on the endpoints this workspace runs:
 * - Amazon S3: stores and returns CRC32/CRC32C/CRC64NVME full-object checksums, enforces If-None-Match
 *   and If-Match on PutObject and CompleteMultipartUpload (412, or 409 for a concurrent conflict).
 * - moto 5.x with `awscrt` and `crc32c` installed (the local cloud installs both): the same.
 * - s3rver 3.7: silently ignores checksum and conditional headers (no rejection, no echo).
 */
export interface S3EndpointFeatures {
  /**
   * The full-object checksum written with every object, beside Content-MD5 (`none`: Content-MD5 only).
   * CRC32 is computed natively (node:zlib); CRC32C in JavaScript.
   */
  checksum: S3Checksum;
  /**
   * Whether the endpoint enforces If-None-Match / If-Match. When it does, the conditional commit *is*
   * the ordering guard (a write that lost a race fails with 412 and is re-judged), so the copy reads
   * the target once. When it does not, the copy re-reads the target right before committing, which
   * narrows the race to that gap but cannot close it.
   */
  conditionalWrites: boolean;
}

/** Amazon S3, the default. */
export const AMAZON_S3_FEATURES: S3EndpointFeatures = { checksum: 'CRC32', conditionalWrites: true };

/** The algorithm to send, or undefined for none. */
export function checksumAlgorithmOf(features: S3EndpointFeatures): FullObjectChecksumAlgorithm | undefined {
  return features.checksum === 'none' ? undefined : features.checksum;
}

/**
 * The endpoint refused a feature its S3EndpointFeatures say it has: a configuration error, reported with
 * what to change. Retryable on purpose (a plain Error): the event waits in the queue, or its poison queue,
 * until the configuration is fixed, instead of being dropped.
 */
export class EndpointFeatureRejectedError extends Error {
  override name = 'EndpointFeatureRejectedError';
}

function rejectionMentioning(error: unknown, pattern: RegExp): boolean {
  const status = httpStatusOf(error);
  if (status !== 400 && status !== 501) return false;
  const { name, message } = error as { name?: unknown; message?: unknown };
  // A checksum that did not match the bytes is an integrity failure, not an unsupported feature.
  if (name === 'BadDigest' || name === 'InvalidDigest' || name === 'XAmzContentChecksumMismatch') return false;
  return name === 'NotImplemented' || pattern.test(`${String(name)} ${String(message)}`);
}

export function isChecksumRejection(error: unknown): boolean {
  return rejectionMentioning(error, /checksum|crc64|crc32/i);
}

export function isConditionalWriteRejection(error: unknown): boolean {
  return rejectionMentioning(error, /if-none-match|if-match|conditional/i);
}

/** Turns an endpoint's refusal of a configured feature into an error that says which setting to change. */
export function explainRejection(error: unknown, features: S3EndpointFeatures, where: string): unknown {
  if (features.checksum !== 'none' && isChecksumRejection(error)) {
    return new EndpointFeatureRejectedError(
      `${where}: the S3 endpoint refused the ${features.checksum} checksum; set the endpoint's checksum feature to ` +
        `${features.checksum === 'CRC32' ? 'CRC32C or none' : 'none'} (Function: S3_CHECKSUM, CLI: --s3-checksum)`,
      { cause: error },
    );
  }
  if (features.conditionalWrites && isConditionalWriteRejection(error)) {
    return new EndpointFeatureRejectedError(
      `${where}: the S3 endpoint refused a conditional write (If-None-Match / If-Match); declare that it does not enforce them ` +
        '(Function: S3_CONDITIONAL_WRITES=false, CLI: --s3-conditional-writes false)',
      { cause: error },
    );
  }
  return error;
}
