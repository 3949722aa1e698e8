import { createHash } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { RestError, type BlockBlobClient } from '@azure/storage-blob';
import { combineChecksums, ContentChecksum } from '@blobferry/transfer';
import { blockIdOf, stagedBlockOf, versionTag, type StagedBlock } from './block-ids.js';
import { byteCheckerFor, ChecksumMismatchError, type ByteCheck } from './byte-check.js';
import type { RecordedVersion } from './recorded-version.js';
import { writeViaStaging } from './staged-copy.js';
import {
  blobTypeOf,
  blockBlobPropertiesOf,
  TargetChangedError,
  visibleWriteCondition,
  type CopyPath,
  type CopyPathRule,
  type WriteBlobOptions,
  type WriteBlobResult,
} from './target-write.js';
import { inFlightLimit } from './in-flight.js';
import { blocksOf } from './version-blocks.js';

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
 * The rule: server-side where Azure can check the recorded checksum before the blob exists, i.e. a block blob
 * up to the single-shot size whose MD5 the backup recorded, readable now (not archived), with a presigned URL
 * within Azure's 2 KiB, and whose bytes are not in hand already. Everything else streams: a small blob (up to a
 * block) arrives whole with the record the restore must read anyway (one GET, where server-side would add a
 * request), no MD5 recorded (a CRC only Azure cannot check for us), blobs staged as blocks (Azure reports a
 * block's CRC64, which nothing recorded can be checked against), append and page blobs (From-URL calls make
 * block blobs), long URLs (session tokens make presigned URLs long).
 */
export function copyPathFor(version: RecordedVersion, rule: CopyPathRule, sourceUrlLength: number | undefined): CopyPath {
  const blockBlob = blobTypeOf(version) === 'BlockBlob';
  const singleShot = version.size <= rule.singleShotBytes && version.bytes === undefined;
  const fits = sourceUrlLength !== undefined && sourceUrlLength <= MAX_COPY_SOURCE_URL_LENGTH;
  return rule.serverSide && blockBlob && singleShot && version.md5Base64 !== undefined && fits ? 'server-side' : 'streamed';
}

/**
 * Writes one version at the target as the blob type it had, checked, conditionally on the target as the plan
 * saw it; throws TargetChangedError and ChecksumMismatchError.
 */
export async function writeBlob(options: WriteBlobOptions): Promise<WriteBlobResult> {
  try {
    const blobType = blobTypeOf(options.version);
    if (blobType !== 'BlockBlob') return await writeViaStaging(options, blobType);
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

const blockBlobOf = (options: WriteBlobOptions): BlockBlobClient => options.container.getBlockBlobClient(options.name);

/** Put Blob From URL, with the recorded MD5 for Azure to check; a URL refused (expired with its session) is signed again once. */
async function writeServerSide(options: WriteBlobOptions, firstUrl: string): Promise<WriteBlobResult> {
  const md5Base64 = options.version.md5Base64;
  const condition = await visibleWriteCondition(options);
  const send = (url: string) =>
    blockBlobOf(options).syncUploadFromURL(url, {
      ...blockBlobPropertiesOf(options, md5Base64, condition),
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
  const checker = byteCheckerFor(version);
  checker.update(bytes);
  const check = await checker.verify();
  // Checked equal to the recorded MD5 when there is one.
  const md5Base64 = version.md5Base64 ?? md5Of(bytes);
  const condition = await visibleWriteCondition(options);
  await blockBlobOf(options).upload(bytes, bytes.length, {
    ...blockBlobPropertiesOf(options, md5Base64, condition),
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

/**
 * A larger blob, staged block by block and committed once (Put Block List): nothing is visible before the
 * commit, and the commit happens only after the blocks' CRCs, combined, equal the full-object CRC S3 stores.
 * Blocks a previous run staged for this version are kept (their CRCs are in their ids), so a rerun reads only
 * the rest. A version with an MD5 but no full-object CRC is hashed in order, which cannot resume: it is read whole.
 */
async function writeInBlocks(options: WriteBlobOptions): Promise<WriteBlobResult> {
  const { version } = options;
  const blob = blockBlobOf(options);
  // Blocks can be staged only where no blob of another type stands: it is cleared before the first one.
  const condition = await visibleWriteCondition(options);
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

  // No transactional MD5 on a block: Azure is written over HTTPS, whose TLS authenticates every byte in flight,
  // and the commit waits for the blocks' combined CRC to equal the one S3 stores; an MD5 of every block would
  // cost more CPU than the rest of the copy.
  const stage = async (index: number, bytes: Buffer) => {
    const block = { index, checksumBase64: await checksumOf(algorithm, bytes) };
    await blob.stageBlock(blockIdOf(tag, block), bytes, bytes.length, {
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    blocks[index] = block;
  };
  // Each block fills a buffer of a small pool (one per block in flight, and the one filling), taken back once its
  // block is staged: a fresh block-sized buffer per block makes V8 collect garbage every few blocks.
  const freeBuffers: ArrayBuffer[] = [];
  const bufferFor = () => Buffer.from(freeBuffers.pop() ?? new ArrayBuffer(blockBytes));
  const uploads = inFlightLimit(options.blocksInFlight);
  let bytesRead = 0;
  try {
    for (const [first, last] of missingRuns(blocks, count)) {
      // One GET per run of missing blocks, cut into blocks as it streams: S3 serves a version's range once, and
      // an in-order MD5 falls out of the order of the stream. Blocks upload `blocksInFlight` at a time.
      for await (const [index, bytes] of blocksOf(options, { first, last, blockBytes, lengthOf }, bufferFor)) {
        bytesRead += bytes.length;
        md5?.update(bytes);
        await uploads.add(stage(index, bytes).finally(() => freeBuffers.push(bytes.buffer as ArrayBuffer)));
      }
    }
    await uploads.drain();
  } catch (error) {
    await uploads.settle();
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
    blockBlobPropertiesOf(options, md5Base64, condition),
  );
  return { path: 'streamed', check, bytesRead };
}
