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

/** A full-object checksum S3 stores and blobferry can recompute from the source alone (`digestBlob`'s `checksum`). */
export type FullObjectChecksumAlgorithm = Extract<ChecksumAlgorithm, 'CRC32' | 'CRC32C'>;

/**
 * CRC32 (node:zlib, native, incremental through `crc32(data, previous)`) or CRC32C (@aws-sdk/checksums)
 * of a whole content fed in order; `finish` gives it as S3 spells it: the 4 bytes big-endian, in base64.
 */
export class ContentChecksum {
  #crc32 = 0;
  readonly #crc32c: Crc32c | undefined;

  constructor(readonly algorithm: FullObjectChecksumAlgorithm) {
    this.#crc32c = algorithm === 'CRC32C' ? new Crc32c() : undefined;
  }

  update(data: Uint8Array): void {
    if (this.#crc32c) this.#crc32c.update(data);
    else this.#crc32 = crc32(data, this.#crc32);
  }

  async finish(): Promise<string> {
    if (this.#crc32c) return Buffer.from(await this.#crc32c.digest()).toString('base64');
    const value = Buffer.alloc(4);
    value.writeUInt32BE(this.#crc32);
    return value.toString('base64');
  }
}

export function md5Base64Of(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

/** The S3 additional checksum (base64, as S3 spells it) of some bytes. */
export async function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): Promise<string> {
  if (algorithm === 'CRC64NVME') {
    const crc = new Crc64Nvme();
    crc.update(data);
    return Buffer.from(await crc.digest()).toString('base64');
  }
  const crc = new ContentChecksum(algorithm);
  crc.update(data);
  return crc.finish();
}
