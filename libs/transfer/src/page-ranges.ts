import type { BlobClient } from '@azure/storage-blob';
import type { PartRange } from './pipeline.js';
import { asSourceChange, readRange, type SourceSnapshot } from './source.js';

// A page blob holds its written pages and reads as zeros everywhere else (a VHD is mostly unwritten).
// Get Page Ranges, pinned to the snapshot's ETag, says which bytes were written: only those are read from
// Azure, and the rest of each part is zeros written without reading them.

/** Written ranges closer than this are read as one: one GET of a short run of zeros costs less than two requests. */
export const PAGE_GAP_READ_BYTES = 256 * 1024;

export interface ByteRange {
  offset: number;
  count: number;
}

/** The blob's written byte ranges at the snapshot's ETag, in order, neighbours closer than PAGE_GAP_READ_BYTES merged. */
export async function writtenPageRanges(
  blob: BlobClient,
  snapshot: SourceSnapshot,
  abortSignal: AbortSignal | undefined,
): Promise<ByteRange[]> {
  const ranges: ByteRange[] = [];
  try {
    const pages = blob
      .getPageBlobClient()
      .listPageRanges(0, snapshot.length, { conditions: { ifMatch: snapshot.etag }, abortSignal })
      .byPage();
    for await (const page of pages) {
      for (const range of page.pageRange ?? []) {
        const offset = range.start;
        const end = range.end + 1;
        const last = ranges.at(-1);
        if (last && offset - (last.offset + last.count) < PAGE_GAP_READ_BYTES) last.count = Math.max(last.count, end - last.offset);
        else ranges.push({ offset, count: end - offset });
      }
    }
  } catch (error) {
    throw asSourceChange(error, blob);
  }
  return ranges;
}

/**
 * The bytes of `part` into `into` (or a new buffer): zeros, with the written ranges that overlap the part
 * read over them, each read pinned to the snapshot's ETag.
 */
export async function readPagePart(
  blob: BlobClient,
  snapshot: SourceSnapshot,
  written: readonly ByteRange[],
  part: PartRange,
  abortSignal: AbortSignal | undefined,
  into?: Buffer,
): Promise<Buffer> {
  const buffer = into ? into.subarray(0, part.count) : Buffer.allocUnsafe(part.count);
  buffer.fill(0);
  const partEnd = part.offset + part.count;
  for (const range of written) {
    const start = Math.max(range.offset, part.offset);
    const end = Math.min(range.offset + range.count, partEnd);
    if (start >= end) continue;
    await readRange(
      blob,
      { offset: start, count: end - start, pin: { etag: snapshot.etag } },
      abortSignal,
      buffer.subarray(start - part.offset, end - part.offset),
    );
  }
  return buffer;
}
