import type { ChecksumAlgorithm } from './checksum.js';

// A multipart upload's full-object checksum is the CRC of the whole content. Computing it in one pass
// while every part's own checksum is computed in another would run the (JavaScript) CRC twice over each
// byte; instead each part's CRC is computed once and the whole-object value is derived from them:
// crc(A‖B) = crc(A)·x^(8·|B|) mod P ⊕ crc(B), valid for reflected CRCs whose init and xorout are all
// ones, as CRC32, CRC64NVME and CRC32C are (zlib's crc32_combine, generalised to any width).

interface CrcSpec {
  bits: bigint;
  /** The reflected polynomial. */
  poly: bigint;
}

const SPECS: Record<ChecksumAlgorithm, CrcSpec> = {
  CRC32: { bits: 32n, poly: 0xedb88320n },
  CRC64NVME: { bits: 64n, poly: 0x9a6c9329ac4bc9b5n },
  CRC32C: { bits: 32n, poly: 0x82f63b78n },
};

/** a(x)·b(x) mod P(x), in the reflected bit order CRCs use. */
function multiplyModP(spec: CrcSpec, a: bigint, b: bigint): bigint {
  let m = 1n << (spec.bits - 1n);
  let product = 0n;
  while (m !== 0n) {
    if (a & m) product ^= b;
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ spec.poly : b >> 1n;
  }
  return product;
}

/** x^(8·bytes) mod P(x), by repeated squaring. */
function shiftOperator(spec: CrcSpec, bytes: number): bigint {
  let power = 1n << (spec.bits - 2n); // x^1
  for (let i = 0; i < 3; i++) power = multiplyModP(spec, power, power); // x^8: one byte
  let result = 1n << (spec.bits - 1n); // x^0
  for (let n = BigInt(bytes); n > 0n; n >>= 1n) {
    if (n & 1n) result = multiplyModP(spec, result, power);
    power = multiplyModP(spec, power, power);
  }
  return result;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

function toBase64(value: bigint, bits: bigint): string {
  const bytes = Buffer.alloc(Number(bits / 8n));
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes.toString('base64');
}

/** The full-object checksum of parts laid end to end, from each part's checksum and length, in order. */
export function combineChecksums(algorithm: ChecksumAlgorithm, parts: readonly { checksumBase64: string; bytes: number }[]): string {
  const spec = SPECS[algorithm];
  let combined: bigint | undefined;
  for (const part of parts) {
    const crc = toBigInt(Buffer.from(part.checksumBase64, 'base64'));
    combined = combined === undefined ? crc : multiplyModP(spec, shiftOperator(spec, part.bytes), combined) ^ crc;
  }
  if (combined === undefined) throw new Error('combineChecksums needs at least one part');
  return toBase64(combined, spec.bits);
}
