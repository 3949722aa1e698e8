import { createHash, type Hash } from 'node:crypto';
import { Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';

/** S3 additional checksums this library writes, best first. */
export type ChecksumAlgorithm = 'CRC64NVME' | 'CRC32C';

/** The request/response field that carries each algorithm's value. */
export const checksumField = { CRC64NVME: 'ChecksumCRC64NVME', CRC32C: 'ChecksumCRC32C' } as const;

/** MD5 plus (optionally) one S3 checksum of a whole content, fed in order. */
export class ContentDigest {
  readonly #md5: Hash = createHash('md5');
  readonly #checksum: Crc64Nvme | Crc32c | undefined;
  bytes = 0;

  constructor(readonly algorithm: ChecksumAlgorithm | undefined) {
    this.#checksum = algorithm === 'CRC64NVME' ? new Crc64Nvme() : algorithm === 'CRC32C' ? new Crc32c() : undefined;
  }

  update(data: Uint8Array): void {
    this.#md5.update(data);
    this.#checksum?.update(data);
    this.bytes += data.length;
  }

  async finish(): Promise<{ md5Base64: string; checksumBase64: string | undefined }> {
    const checksum = this.#checksum ? Buffer.from(await this.#checksum.digest()).toString('base64') : undefined;
    return { md5Base64: this.#md5.digest('base64'), checksumBase64: checksum };
  }
}

export async function digestOf(data: Uint8Array, algorithm: ChecksumAlgorithm | undefined) {
  const digest = new ContentDigest(algorithm);
  digest.update(data);
  return digest.finish();
}
