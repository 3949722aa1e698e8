// What `verify --deep` compares without reading the object: the CRC recomputed from the blob (ContentChecksum,
// incremental, as digestBlob feeds it) against the full-object checksum a HEAD reports (fullObjectChecksumOf).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checksumOf, ContentChecksum } from '../src/checksum.js';
import { fullObjectChecksumOf } from '../src/target.js';

describe('ContentChecksum', () => {
  it.each(['CRC32', 'CRC32C'] as const)(
    'computes %s over chunks fed in order as checksumOf does over the whole, in S3 spelling',
    async (algorithm) => {
      const data = randomBytes(100_003);
      const checksum = new ContentChecksum(algorithm);
      for (let offset = 0; offset < data.length; offset += 8191) checksum.update(data.subarray(offset, offset + 8191));
      expect(await checksum.finish()).toBe(await checksumOf(algorithm, data));
    },
  );

  it('gives the standard check values of "123456789", big-endian, base64', async () => {
    const hexOf = async (algorithm: 'CRC32' | 'CRC32C') => {
      const checksum = new ContentChecksum(algorithm);
      checksum.update(Buffer.from('1234'));
      checksum.update(Buffer.from('56789'));
      return Buffer.from(await checksum.finish(), 'base64').toString('hex');
    };
    expect(await hexOf('CRC32')).toBe('cbf43926');
    expect(await hexOf('CRC32C')).toBe('e3069283');
  });

  it('of no bytes is the CRC of empty content', async () => {
    expect(await new ContentChecksum('CRC32').finish()).toBe(await checksumOf('CRC32', new Uint8Array()));
  });
});

describe('fullObjectChecksumOf', () => {
  const singlePart = '"0123456789abcdef0123456789abcdef"';
  const multipart = '"0123456789abcdef0123456789abcdef-2"';

  it('takes a FULL_OBJECT CRC32 or CRC32C, single-part or multipart', () => {
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: multipart, ChecksumType: 'FULL_OBJECT', ChecksumCRC32: 'dOv+6w==' })).toEqual({
      algorithm: 'CRC32',
      value: 'dOv+6w==',
    });
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: singlePart, ChecksumType: 'FULL_OBJECT', ChecksumCRC32C: 'AAAAAA==' })).toEqual({
      algorithm: 'CRC32C',
      value: 'AAAAAA==',
    });
  });

  it('takes an untyped checksum of a single-part object (one PUT: it covers the whole content)', () => {
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: singlePart, ChecksumCRC32: 'dOv+6w==' })).toEqual({
      algorithm: 'CRC32',
      value: 'dOv+6w==',
    });
  });

  it('refuses composite checksums: typed COMPOSITE, spelt with a part count, or untyped on a multipart object (as moto reports them)', () => {
    expect(
      fullObjectChecksumOf({ $metadata: {}, ETag: multipart, ChecksumType: 'COMPOSITE', ChecksumCRC32: 'dOv+6w==-2' }),
    ).toBeUndefined();
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: multipart, ChecksumType: 'COMPOSITE', ChecksumCRC32: 'dOv+6w==' })).toBeUndefined();
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: multipart, ChecksumCRC32: 'dOv+6w==-2' })).toBeUndefined();
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: multipart, ChecksumCRC32: 'dOv+6w==' })).toBeUndefined();
  });

  it('has nothing for no checksum, or only one blobferry does not recompute from the source', () => {
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: singlePart })).toBeUndefined();
    expect(
      fullObjectChecksumOf({ $metadata: {}, ETag: singlePart, ChecksumType: 'FULL_OBJECT', ChecksumCRC64NVME: 'AAAAAAAAAAA=' }),
    ).toBeUndefined();
    expect(fullObjectChecksumOf({ $metadata: {}, ETag: singlePart, ChecksumSHA256: 'x' })).toBeUndefined();
  });
});
