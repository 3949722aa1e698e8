import { createHash } from 'node:crypto';
import { ContentChecksum } from '@blobferry/transfer';
import type { RecordedVersion } from './recorded-version.js';

/** How the bytes were checked against what the backup recorded; `unverifiable` when it recorded no checksum. */
export type ByteCheck = 'md5' | 'crc32' | 'crc32c' | 'unverifiable';

/** The bytes were not what the backup recorded: nothing was made visible. */
export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
}

export interface ByteChecker {
  /** Feeds the version's bytes, in order. */
  update(bytes: Uint8Array): void;
  /** The check made, once every byte was fed; ChecksumMismatchError when they are not what was recorded. */
  verify(): Promise<ByteCheck>;
}

/**
 * A check of the whole of a version's bytes, read in order, against what its backup recorded: the recorded
 * MD5 (`source-md5`) when there is one, else the full-object CRC32/CRC32C S3 stores, else nothing
 * (`unverifiable`).
 */
export function byteCheckerFor(version: Pick<RecordedVersion, 'md5Base64' | 'checksum'>): ByteChecker {
  if (version.md5Base64 !== undefined) {
    const md5 = createHash('md5');
    return {
      update: (bytes) => void md5.update(bytes),
      verify: async () => {
        const value = md5.digest('base64');
        if (value !== version.md5Base64)
          throw new ChecksumMismatchError(`MD5 ${value} of the bytes read is not the recorded ${version.md5Base64}`);
        return 'md5';
      },
    };
  }
  const recorded = version.checksum;
  if (recorded) {
    const checksum = new ContentChecksum(recorded.algorithm);
    return {
      update: (bytes) => checksum.update(bytes),
      verify: async () => {
        const value = await checksum.finish();
        if (value !== recorded.value)
          throw new ChecksumMismatchError(`${recorded.algorithm} ${value} of the bytes read is not the recorded ${recorded.value}`);
        return recorded.algorithm === 'CRC32' ? 'crc32' : 'crc32c';
      },
    };
  }
  return { update: () => undefined, verify: async () => 'unverifiable' };
}
