import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { RestError, type BlobHTTPHeaders, type BlockBlobClient, type Tags } from '@azure/storage-blob';
import { combineChecksums, ContentChecksum } from '@blobferry/transfer';
import { blockIdOf, stagedBlockOf, versionTag, type StagedBlock } from './block-ids.js';
import type { RecordedVersion } from './recorded-version.js';

/** Azure's Put Blob From URL reads a source URL of at most 2 KiB. */
export const MAX_COPY_SOURCE_URL_LENGTH = 2048;
/** Blobs up to this size are written in one request (the Azure SDK's single-shot default); larger ones are staged as blocks. */
export const DEFAULT_SINGLE_SHOT_BYTES = 256 * 1024 * 1024;
export const DEFAULT_BLOCK_BYTES = 8 * 1024 * 1024;
/** A block blob holds at most 50,000 committed blocks: large blobs get larger blocks. */
const MAX_BLOCKS = 50_000;
/** How long a presigned URL is valid: minutes, since it is signed right before the one request that reads it. */
const PRESIGNED_SECONDS = 900;

/**
 * How the bytes get there.
 * - `server-side`: Azure's Put Blob From URL reads a presigned URL of the version, and checks the recorded MD5
 *   (x-ms-source-content-md5) before the blob exists; no byte passes through this process.
 * - `streamed`: this process reads the version (ranges pinned to its version id) and writes it, checking every
 *   byte against the recorded checksum before the write that makes it visible.
 */
export type CopyPath = 'server-side' | 'streamed';

/** How the bytes were checked against what the backup recorded; `unverifiable` when it recorded no checksum. */
export type ByteCheck = 'md5' | 'crc32' | 'crc32c' | 'unverifiable';

export interface CopyPathRule {
  serverSide: boolean;
  singleShotBytes: number;
}

/**
 * The rule: server-side where Azure can check the recorded checksum before the blob exists, i.e. a block blob
 * up to the single-shot size whose MD5 the backup recorded, readable now (not archived), with a presigned URL
 * within Azure's 2 KiB, and whose bytes are not in hand already. Everything else streams: a small blob (up to a
 * block) arrives whole with the record the restore must read anyway (one GET, where server-side would add a
 * request), no MD5 recorded (a CRC only Azure cannot check for us), blobs staged as blocks (Azure reports a
 * block's CRC64, which nothing recorded can be checked against), append and page blobs (From-URL calls make
 * block blobs), long URLs (session tokens make presigned URLs long).
 */
export function copyPathFor(version: RecordedVersion, rule: CopyPathRule, sourceUrlLength: number | undefined): CopyPath {
  const blockBlob = version.blobType === undefined || version.blobType === 'BlockBlob';
  const singleShot = version.size <= rule.singleShotBytes && version.bytes === undefined;
  const fits = sourceUrlLength !== undefined && sourceUrlLength <= MAX_COPY_SOURCE_URL_LENGTH;
  return rule.serverSide && blockBlob && singleShot && version.md5Base64 !== undefined && fits ? 'server-side' : 'streamed';
}

/** The condition of the one write that makes content visible: the target as the plan saw it. */
export type WriteCondition = { ifNoneMatch: '*' } | { ifMatch: string };

export interface WriteBlobOptions {
  s3: S3Client;
  bucket: string;
  version: RecordedVersion;
  tags: Record<string, string>;
  blob: BlockBlobClient;
  condition: WriteCondition;
  rule: CopyPathRule;
  blockBytes: number;
  blocksInFlight: number;
  abortSignal?: AbortSignal | undefined;
}

export interface WriteBlobResult {
  path: CopyPath;
  check: ByteCheck;
  /** Bytes this process read from S3 (0 server-side; a resumed blob reads only its missing blocks). */
  bytesRead: number;
}

/** The bytes were not what the backup recorded: nothing was committed. */
export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
}

/** The target changed after the plan (a conditional write was refused): nothing was replaced. */
export class TargetChangedError extends Error {
  override readonly name = 'TargetChangedError';
}

/** Writes one version as a block blob at the target, checked, conditionally; throws the errors above. */
export async function writeBlob(options: WriteBlobOptions): Promise<WriteBlobResult> {
  try {
    if (copyPathFor(options.version, options.rule, 0) === 'server-side') {
      const url = await presignedUrlOf(options);
      if (copyPathFor(options.version, options.rule, url.length) === 'server-side') return await writeServerSide(options, url);
    }
    if (options.version.size <= options.blockBytes) return await writeSingleShot(options);
    return await writeInBlocks(options);
  } catch (error) {
    if (
      error instanceof RestError &&
      (error.statusCode === 412 || error.code === 'ConditionNotMet' || error.code === 'BlobAlreadyExists')
    ) {
      throw new TargetChangedError('the blob at the target changed after the plan was made; it was left as it is', { cause: error });
    }
    if (error instanceof RestError && error.code === 'Md5Mismatch') {
      throw new ChecksumMismatchError('the bytes S3 served are not the MD5 the backup recorded; nothing was written', { cause: error });
    }
    throw error;
  }
}

function presignedUrlOf({ s3, bucket, version }: WriteBlobOptions): Promise<string> {
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: version.key, VersionId: version.versionId }), {
    expiresIn: PRESIGNED_SECONDS,
  });
}

function httpHeadersOf(version: RecordedVersion, md5Base64: string | undefined): BlobHTTPHeaders {
  const { contentHeaders } = version;
  return {
    ...(contentHeaders.contentType !== undefined ? { blobContentType: contentHeaders.contentType } : {}),
    ...(contentHeaders.contentEncoding !== undefined ? { blobContentEncoding: contentHeaders.contentEncoding } : {}),
    ...(contentHeaders.contentLanguage !== undefined ? { blobContentLanguage: contentHeaders.contentLanguage } : {}),
    ...(contentHeaders.contentDisposition !== undefined ? { blobContentDisposition: contentHeaders.contentDisposition } : {}),
    ...(contentHeaders.cacheControl !== undefined ? { blobCacheControl: contentHeaders.cacheControl } : {}),
    ...(md5Base64 !== undefined ? { blobContentMD5: Buffer.from(md5Base64, 'base64') } : {}),
  };
}

/** What every write of the blob carries: headers, metadata, index tags, tier, the plan's condition. */
function blobPropertiesOf(options: WriteBlobOptions, md5Base64: string | undefined) {
  const tags: Tags | undefined = Object.keys(options.tags).length > 0 ? options.tags : undefined;
  return {
    blobHTTPHeaders: httpHeadersOf(options.version, md5Base64),
    metadata: options.version.metadata,
    ...(tags ? { tags } : {}),
    ...(options.version.accessTier !== undefined ? { tier: options.version.accessTier } : {}),
    conditions: options.condition,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  };
}

/** Put Blob From URL, with the recorded MD5 for Azure to check; a URL refused (expired with its session) is signed again once. */
async function writeServerSide(options: WriteBlobOptions, firstUrl: string): Promise<WriteBlobResult> {
  const md5Base64 = options.version.md5Base64;
  const send = (url: string) =>
    options.blob.syncUploadFromURL(url, {
      ...blobPropertiesOf(options, md5Base64),
      sourceContentMD5: Buffer.from(md5Base64 ?? '', 'base64'),
      copySourceBlobProperties: false,
    });
  try {
    await send(firstUrl);
  } catch (error) {
    if (!(error instanceof RestError && error.code === 'CannotVerifyCopySource' && error.statusCode === 403)) throw error;
    await send(await presignedUrlOf(options));
  }
  return { path: 'server-side', check: 'md5', bytesRead: 0 };
}

async function readRange(options: WriteBlobOptions, offset: number, count: number): Promise<Buffer> {
  const object = await options.s3.send(
    new GetObjectCommand({
      Bucket: options.bucket,
      Key: options.version.key,
      VersionId: options.version.versionId,
      ...(count > 0 ? { Range: `bytes=${offset}-${offset + count - 1}` } : {}),
    }),
    options.abortSignal ? { abortSignal: options.abortSignal } : {},
  );
  const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
  if (bytes.length !== count) throw new Error(`S3 served ${bytes.length} bytes of ${options.version.key} where ${count} were asked`);
  return bytes;
}

const md5Of = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

async function checksumOf(algorithm: 'CRC32' | 'CRC32C', bytes: Uint8Array): Promise<string> {
  const checksum = new ContentChecksum(algorithm);
  checksum.update(bytes);
  return checksum.finish();
}

/** A blob up to one block: read whole, checked, written in one Put Blob (transactional MD5, so Azure checks the transfer). */
async function writeSingleShot(options: WriteBlobOptions): Promise<WriteBlobResult> {
  const { version } = options;
  const bytes = version.bytes ?? (await readRange(options, 0, version.size));
  const md5Base64 = md5Of(bytes);
  let check: ByteCheck = 'unverifiable';
  if (version.md5Base64 !== undefined) {
    if (md5Base64 !== version.md5Base64)
      throw new ChecksumMismatchError(`MD5 ${md5Base64} of the bytes read is not the recorded ${version.md5Base64}`);
    check = 'md5';
  } else if (version.checksum) {
    const value = await checksumOf(version.checksum.algorithm, bytes);
    if (value !== version.checksum.value) {
      throw new ChecksumMismatchError(
        `${version.checksum.algorithm} ${value} of the bytes read is not the recorded ${version.checksum.value}`,
      );
    }
    check = version.checksum.algorithm === 'CRC32' ? 'crc32' : 'crc32c';
  }
  await options.blob.upload(bytes, bytes.length, {
    ...blobPropertiesOf(options, md5Base64),
    transactionalContentMD5: Buffer.from(md5Base64, 'base64'),
  });
  return { path: 'streamed', check, bytesRead: bytes.length };
}

/** Block size for a blob: the configured one, grown so the blob fits in 50,000 blocks (whole MiB). */
export function blockBytesFor(size: number, configured: number): number {
  const needed = Math.ceil(size / MAX_BLOCKS / (1024 * 1024)) * 1024 * 1024;
  return Math.max(configured, needed);
}

/** The blocks this version already has staged at the target (from an interrupted run), by index. */
async function alreadyStaged(
  blob: BlockBlobClient,
  tag: string,
  abortSignal: AbortSignal | undefined,
): Promise<Map<number, StagedBlock & { size: number }>> {
  const staged = new Map<number, StagedBlock & { size: number }>();
  let list;
  try {
    list = await blob.getBlockList('uncommitted', abortSignal ? { abortSignal } : {});
  } catch (error) {
    if (error instanceof RestError && error.statusCode === 404) return staged;
    throw error;
  }
  for (const block of list.uncommittedBlocks ?? []) {
    const parsed = stagedBlockOf(tag, block.name);
    if (parsed) staged.set(parsed.index, { ...parsed, size: block.size });
  }
  return staged;
}

/** The runs of consecutive blocks not staged yet, as [first, last] indexes. */
function missingRuns(blocks: readonly (StagedBlock | undefined)[], count: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let index = 0; index < count; index++) {
    if (blocks[index] !== undefined) continue;
    const run = runs.at(-1);
    if (run && run[1] === index - 1) run[1] = index;
    else runs.push([index, index]);
  }
  return runs;
}

interface BlockRange {
  first: number;
  last: number;
  blockBytes: number;
  lengthOf: (index: number) => number;
}

/** The blocks `first`..`last` of the version, read with one ranged GET and cut as the body streams. */
async function* blocksOf(options: WriteBlobOptions, range: BlockRange): AsyncGenerator<[number, Buffer]> {
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
  let parts: Buffer[] = [];
  let held = 0;
  for await (const chunk of (object.Body ?? []) as AsyncIterable<Uint8Array>) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(range.lengthOf(index) - held, chunk.length - offset);
      parts.push(Buffer.from(chunk.buffer, chunk.byteOffset + offset, take));
      held += take;
      offset += take;
      if (held === range.lengthOf(index)) {
        yield [index, Buffer.concat(parts)];
        parts = [];
        held = 0;
        index += 1;
        if (index > range.last && offset < chunk.length) throw new Error(`S3 served more of ${options.version.key} than the range asked`);
      }
    }
  }
  if (index !== range.last + 1)
    throw new Error(
      `S3 served less of ${options.version.key} than the range asked (${index - range.first} of ${range.last - range.first + 1} blocks)`,
    );
}

/**
 * A larger blob, staged block by block and committed once (Put Block List): nothing is visible before the
 * commit, and the commit happens only after the blocks' CRCs, combined, equal the full-object CRC S3 stores.
 * Blocks a previous run staged for this version are kept (their CRCs are in their ids), so a rerun reads only
 * the rest. A version with an MD5 but no full-object CRC is hashed in order, which cannot resume: it is read whole.
 */
async function writeInBlocks(options: WriteBlobOptions): Promise<WriteBlobResult> {
  const { version, blob } = options;
  const blockBytes = blockBytesFor(version.size, options.blockBytes);
  const count = Math.ceil(version.size / blockBytes);
  const lengthOf = (index: number) => Math.min(blockBytes, version.size - index * blockBytes);
  const algorithm = version.checksum?.algorithm ?? 'CRC32';
  const tag = versionTag(version.key, version.versionId);
  const resumable = version.checksum !== undefined || version.md5Base64 === undefined;
  const staged = resumable ? await alreadyStaged(blob, tag, options.abortSignal) : new Map<number, StagedBlock & { size: number }>();
  const md5 = version.checksum === undefined && version.md5Base64 !== undefined ? createHash('md5') : undefined;
  const blocks: StagedBlock[] = new Array<StagedBlock>(count);
  for (const [index, kept] of staged) if (index < count && kept.size === lengthOf(index)) blocks[index] = kept;

  const inFlight = new Set<Promise<void>>();
  const stage = async (index: number, bytes: Buffer) => {
    const block = { index, checksumBase64: await checksumOf(algorithm, bytes) };
    await blob.stageBlock(blockIdOf(tag, block), bytes, bytes.length, {
      transactionalContentMD5: createHash('md5').update(bytes).digest(),
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    blocks[index] = block;
  };
  let bytesRead = 0;
  try {
    for (const [first, last] of missingRuns(blocks, count)) {
      // One GET per run of missing blocks, cut into blocks as it streams: S3 serves a version's range once, and
      // an in-order MD5 falls out of the order of the stream. Blocks upload `blocksInFlight` at a time.
      for await (const [index, bytes] of blocksOf(options, { first, last, blockBytes, lengthOf })) {
        bytesRead += bytes.length;
        md5?.update(bytes);
        const staging = stage(index, bytes);
        inFlight.add(staging);
        staging.then(
          () => inFlight.delete(staging),
          () => undefined,
        );
        if (inFlight.size >= options.blocksInFlight) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  } catch (error) {
    await Promise.allSettled(inFlight);
    throw error;
  }
  let check: ByteCheck = 'unverifiable';
  let md5Base64: string | undefined;
  if (version.checksum) {
    const combined = combineChecksums(
      algorithm,
      blocks.map((block, index) => ({
        checksumBase64: block.checksumBase64,
        bytes: Math.min(blockBytes, version.size - index * blockBytes),
      })),
    );
    if (combined !== version.checksum.value) {
      throw new ChecksumMismatchError(
        `${algorithm} ${combined} of the staged blocks is not the recorded ${version.checksum.value}; nothing was committed`,
      );
    }
    check = algorithm === 'CRC32' ? 'crc32' : 'crc32c';
    md5Base64 = version.md5Base64;
  } else if (md5) {
    md5Base64 = md5.digest('base64');
    if (md5Base64 !== version.md5Base64)
      throw new ChecksumMismatchError(`MD5 ${md5Base64} of the bytes read is not the recorded ${version.md5Base64}; nothing was committed`);
    check = 'md5';
  }
  await blob.commitBlockList(
    blocks.map((block) => blockIdOf(tag, block)),
    blobPropertiesOf(options, md5Base64),
  );
  return { path: 'streamed', check, bytesRead };
}
