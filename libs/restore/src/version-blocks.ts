import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RecordedVersion } from './recorded-version.js';

// Reading a version's bytes from S3, pinned to its version id: blocks cut from one streamed GET.

export interface VersionReadOptions {
  s3: S3Client;
  bucket: string;
  version: Pick<RecordedVersion, 'key' | 'versionId' | 'size'>;
  abortSignal?: AbortSignal | undefined;
}

/** Blocks `first`..`last` of a version cut `blockBytes` apart; `lengthOf(index)` is each one's length (the last is shorter). */
export interface BlockRange {
  first: number;
  last: number;
  blockBytes: number;
  lengthOf: (index: number) => number;
}

/**
 * The blocks `first`..`last` of the version, read with one ranged GET and cut as the body streams. Each chunk of the
 * body is copied into its block's buffer (from `bufferFor`) as it arrives and is garbage at once: chunks held until
 * their block is full outlive V8's young generation, and their memory is then freed only by full collections,
 * which the external memory of a large blob's chunks triggers every few blocks.
 */
export async function* blocksOf(
  options: VersionReadOptions,
  range: BlockRange,
  bufferFor: (length: number) => Buffer,
): AsyncGenerator<[number, Buffer]> {
  const start = range.first * range.blockBytes;
  const end = range.last * range.blockBytes + range.lengthOf(range.last) - 1;
  // The whole object is asked without a Range: moto copies the whole object once more for every ranged GET.
  const whole = start === 0 && end === options.version.size - 1;
  const object = await options.s3.send(
    new GetObjectCommand({
      Bucket: options.bucket,
      Key: options.version.key,
      VersionId: options.version.versionId,
      ...(whole ? {} : { Range: `bytes=${start}-${end}` }),
    }),
    options.abortSignal ? { abortSignal: options.abortSignal } : {},
  );
  let index = range.first;
  let block: Buffer | undefined;
  let held = 0;
  for await (const chunk of (object.Body ?? []) as AsyncIterable<Uint8Array>) {
    let offset = 0;
    while (offset < chunk.length) {
      if (index > range.last) throw new Error(`S3 served more of ${options.version.key} than the range asked`);
      const length = range.lengthOf(index);
      block ??= bufferFor(length);
      const take = Math.min(length - held, chunk.length - offset);
      block.set(chunk.subarray(offset, offset + take), held);
      held += take;
      offset += take;
      if (held === length) {
        yield [index, block.subarray(0, length)];
        block = undefined;
        held = 0;
        index += 1;
      }
    }
  }
  if (index !== range.last + 1)
    throw new Error(
      `S3 served less of ${options.version.key} than the range asked (${index - range.first} of ${range.last - range.first + 1} blocks)`,
    );
}

/** The whole version in blocks of `blockBytes` (the last one shorter), from one GET; nothing for an empty version. */
export async function* versionInBlocks(options: VersionReadOptions, blockBytes: number): AsyncGenerator<[number, Buffer]> {
  const { size } = options.version;
  if (size === 0) return;
  const lengthOf = (index: number) => Math.min(blockBytes, size - index * blockBytes);
  yield* blocksOf(options, { first: 0, last: Math.ceil(size / blockBytes) - 1, blockBytes, lengthOf }, (length) =>
    Buffer.allocUnsafe(length),
  );
}
