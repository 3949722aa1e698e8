import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';

/**
 * S3 additional checksums this library computes. CRC32 is the one it writes first: S3 keeps it as a
 * full-object checksum, and node:zlib computes it natively (about 1 GB/s), where CRC64NVME and CRC32C run
 * in JavaScript (about 110 and 300 MB/s here). CRC64NVME stays readable: objects written earlier carry it.
 */
export type ChecksumAlgorithm = 'CRC32' | 'CRC64NVME' | 'CRC32C';

/** The request/response field that carries each algorithm's value. */
export const checksumField = { CRC32: 'ChecksumCRC32', CRC64NVME: 'ChecksumCRC64NVME', CRC32C: 'ChecksumCRC32C' } as const;

/** MD5 of a whole content, fed in order. */
export class ContentDigest {
  readonly #md5: Hash = createHash('md5');

  update(data: Uint8Array): void {
    this.#md5.update(data);
  }

  finish(): { md5Base64: string } {
    return { md5Base64: this.#md5.digest('base64') };
  }
}

export function md5Base64Of(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

/** The S3 additional checksum (base64, as S3 spells it) of some bytes. */
export async function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): Promise<string> {
  if (algorithm === 'CRC32') {
    const value = Buffer.alloc(4);
    value.writeUInt32BE(crc32(data));
    return value.toString('base64');
  }
  const crc = algorithm === 'CRC64NVME' ? new Crc64Nvme() : new Crc32c();
  crc.update(data);
  return Buffer.from(await crc.digest()).toString('base64');
}
