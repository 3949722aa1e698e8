import { createHash } from 'node:crypto';
import type { AppendBlobClient, BlobClient, PageBlobClient } from '@azure/storage-blob';
import { byteCheckerFor, type ByteChecker } from './byte-check.js';
import { inFlightLimit } from './in-flight.js';
import { httpHeadersOf, tagsOf, visibleWriteCondition, type WriteBlobOptions, type WriteBlobResult } from './target-write.js';
import { versionInBlocks } from './version-blocks.js';

// Append and page blobs. Azure makes them visible as soon as they are created, and fills them one Append
// Block or Put Page at a time, so writing one in place would show it half-written. They are written under a
// staging name in the same container instead, checked, and then made visible whole with one Copy Blob from
// the staging blob to the target name: Copy Blob keeps the blob type, and within one account Azure completes
// it synchronously (its answer says `success`); a copy Azure reports `pending` is waited for. The staging blob
// is deleted after the copy, and before a rerun of the same version writes it again.

/** Where staging blobs live in the target container; restore never treats a name under it as a blob to restore or an extra. */
export const STAGING_FOLDER = '.blobferry-restore/';

/** Azure's largest Append Block and Put Page (4 MiB, every service version). */
const MAX_WRITE_BYTES = 4 * 1024 * 1024;
const PAGE_BYTES = 512;
const ZERO_PAGE = Buffer.alloc(PAGE_BYTES);

/** The staging blob of one version of one name: a fixed-length name, whatever the blob's. */
export function stagingNameFor(name: string, versionId: string): string {
  return STAGING_FOLDER + createHash('sha256').update(`${name}\n${versionId}`).digest('hex');
}

/** Writes an append or page blob under its staging name, checks its bytes, then copies it to the target name. */
export async function writeViaStaging(options: WriteBlobOptions, blobType: 'AppendBlob' | 'PageBlob'): Promise<WriteBlobResult> {
  const { container, version, abortSignal } = options;
  const signal = abortSignal ? { abortSignal } : {};
  const stagingName = stagingNameFor(options.name, version.versionId);
  const staging = container.getBlobClient(stagingName);
  // Left by an interrupted run of this version: written again from the start.
  await staging.deleteIfExists(signal);
  const checker = byteCheckerFor(version);
  try {
    // The recorded MD5 as the blob's Content-MD5 (Azure keeps what it is given for these types): the bytes are
    // checked against it before the copy makes them visible, and a rerun finds the blob identical by it.
    const created = { blobHTTPHeaders: httpHeadersOf(version, version.md5Base64), metadata: version.metadata, ...signal };
    if (blobType === 'AppendBlob') {
      const appendBlob = container.getAppendBlobClient(stagingName);
      await appendBlob.create({ ...created, conditions: { ifNoneMatch: '*' } });
      await appendAll(options, appendBlob, checker);
    } else {
      if (version.size % PAGE_BYTES !== 0)
        throw new Error(`the backup of page blob ${JSON.stringify(options.name)} holds ${version.size} bytes, not whole 512-byte pages`);
      const pageBlob = container.getPageBlobClient(stagingName);
      await pageBlob.create(version.size, { ...created, conditions: { ifNoneMatch: '*' } });
      await writeWrittenPages(options, pageBlob, checker);
    }
    const check = await checker.verify();
    await copyToTarget(options, staging);
    return { path: 'streamed', check, bytesRead: version.size };
  } finally {
    await staging.deleteIfExists().catch(() => undefined);
  }
}

/** The version's bytes appended in order, each block at the position it must start at (a retried append is refused, never doubled). */
async function appendAll(options: WriteBlobOptions, blob: AppendBlobClient, checker: ByteChecker): Promise<void> {
  let position = 0;
  for await (const [, bytes] of versionInBlocks(options, MAX_WRITE_BYTES)) {
    checker.update(bytes);
    await blob.appendBlock(bytes, bytes.length, {
      conditions: { appendPosition: position },
      transactionalContentMD5: createHash('md5').update(bytes).digest(),
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    position += bytes.length;
  }
}

/**
 * Only the pages holding something other than zeros are written (a page blob reads zeros where nothing was),
 * each run of them with one Put Page of at most 4 MiB, `blocksInFlight` at a time.
 */
async function writeWrittenPages(options: WriteBlobOptions, blob: PageBlobClient, checker: ByteChecker): Promise<void> {
  const uploads = inFlightLimit(options.blocksInFlight);
  const put = (bytes: Buffer, offset: number) =>
    uploads.add(
      blob
        .uploadPages(bytes, offset, bytes.length, {
          transactionalContentMD5: createHash('md5').update(bytes).digest(),
          ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
        })
        .then(() => undefined),
    );
  try {
    for await (const [index, bytes] of versionInBlocks(options, MAX_WRITE_BYTES)) {
      checker.update(bytes);
      for (const [start, end] of nonZeroRuns(bytes)) await put(bytes.subarray(start, end), index * MAX_WRITE_BYTES + start);
    }
    await uploads.drain();
  } catch (error) {
    await uploads.settle();
    throw error;
  }
}

/** The [start, end) runs of 512-byte pages of `bytes` that are not all zeros. */
export function nonZeroRuns(bytes: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  for (let start = 0; start < bytes.length; start += PAGE_BYTES) {
    const end = Math.min(start + PAGE_BYTES, bytes.length);
    if (bytes.subarray(start, end).equals(ZERO_PAGE.subarray(0, end - start))) continue;
    const run = runs.at(-1);
    if (run && run[1] === start) run[1] = end;
    else runs.push([start, end]);
  }
  return runs;
}

/**
 * Copy Blob from the staging blob: the blob appears at the target whole, of the staging blob's type, with its
 * headers and metadata; index tags are given with the copy (Copy Blob copies none), and the plan's condition
 * guards the target.
 */
async function copyToTarget(options: WriteBlobOptions, staging: BlobClient): Promise<void> {
  const condition = await visibleWriteCondition(options);
  const poller = await options.container.getBlobClient(options.name).beginCopyFromURL(staging.url, {
    metadata: options.version.metadata,
    ...tagsOf(options),
    conditions: condition,
    intervalInMs: 1000,
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  });
  const copied = await poller.pollUntilDone();
  if (copied.copyStatus !== 'success') throw new Error(`Copy Blob from the staging blob ended ${copied.copyStatus ?? 'without a status'}`);
}
