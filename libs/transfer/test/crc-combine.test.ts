import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checksumOf } from '../src/checksum.js';
import { combineChecksums } from '../src/crc-combine.js';

describe.each(['CRC32', 'CRC64NVME', 'CRC32C'] as const)('combineChecksums (%s)', (algorithm) => {
  it('equals the checksum of the whole content for uneven parts', async () => {
    const whole = randomBytes(300_001);
    const cuts = [0, 1, 65_536, 65_537, 200_000, whole.length];
    const parts = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const data = whole.subarray(cuts[i], cuts[i + 1]);
      parts.push({ checksumBase64: await checksumOf(algorithm, data), bytes: data.length });
    }
    expect(combineChecksums(algorithm, parts)).toBe(await checksumOf(algorithm, whole));
  });

  it('is the part checksum itself for one part, and changes when a byte does', async () => {
    const data = randomBytes(4096);
    const single = await checksumOf(algorithm, data);
    expect(combineChecksums(algorithm, [{ checksumBase64: single, bytes: data.length }])).toBe(single);
    const altered = Buffer.from(data);
    altered[100] = (altered[100] ?? 0) ^ 1;
    const halves = [altered.subarray(0, 2048), altered.subarray(2048)];
    const combined = combineChecksums(
      algorithm,
      await Promise.all(halves.map(async (half) => ({ checksumBase64: await checksumOf(algorithm, half), bytes: half.length }))),
    );
    expect(combined).not.toBe(single);
  });
});

describe('checksumOf CRC32', () => {
  it('is S3\'s CRC32: the standard check value of "123456789" (0xCBF43926), base64 of its big-endian bytes', async () => {
    expect(Buffer.from(await checksumOf('CRC32', Buffer.from('123456789')), 'base64').toString('hex')).toBe('cbf43926');
  });
});
