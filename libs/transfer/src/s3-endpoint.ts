import type { S3Client } from '@aws-sdk/client-s3';
import type { ChecksumAlgorithm } from './checksum.js';
import { httpStatusOf } from './classify.js';

// What an S3 endpoint accepts, learned by trying and remembered per S3Client (one client = one endpoint).
// Real S3 takes everything. Measured on the emulators this workspace runs:
// - moto 5.x: stores and echoes CRC32/CRC64NVME/CRC32C on PutObject and UploadPart, accepts a full-object
//   checksum on CompleteMultipartUpload without echoing it, enforces If-None-Match / If-Match (412).
// - s3rver 3.7: silently ignores checksum and conditional headers (no rejection, no echo).
// Endpoints that *reject* a feature (400/501 naming it) get it switched off for that client and the
// request is repeated without it. Endpoints that *ignore* a feature cannot be told apart from ones that
// honour it without a destructive probe, which is why the copy always re-checks the target right before
// committing, and reports a checksum only when the endpoint echoed the value back.
export interface EndpointCapabilities {
  checksum: ChecksumAlgorithm | undefined;
  /**
   * Whether a multipart upload may carry a full-object checksum. Switched off when the endpoint stores a
   * different full-object value than the one we computed: moto without its optional `awscrt`/`crc32c`
   * Python packages silently computes CRC32 in their place, and every AWS SDK reader (which validates
   * checksums by default) would then reject the object.
   */
  multipartChecksum: boolean;
  conditionalWrites: boolean;
}

const capabilitiesByClient = new WeakMap<S3Client, EndpointCapabilities>();

export function capabilitiesOf(s3: S3Client): EndpointCapabilities {
  let capabilities = capabilitiesByClient.get(s3);
  if (!capabilities) {
    capabilities = { checksum: 'CRC32', multipartChecksum: true, conditionalWrites: true };
    capabilitiesByClient.set(s3, capabilities);
  }
  return capabilities;
}

export function downgradeChecksum(capabilities: EndpointCapabilities): void {
  capabilities.checksum = capabilities.checksum === 'CRC32' ? 'CRC32C' : undefined;
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
