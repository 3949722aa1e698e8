import { MiB } from './stats.js';

// The existing estate a backfill copies: blobs of mixed sizes in a few folders, as a container that grew for years
// looks. Deterministic, so every run and every tool sees the same set.

export interface EstateBlob {
  name: string;
  size: number;
}

/** The sizes of the blobs over 16 MiB (each a multipart copy with 8 MiB parts), in the order they are used. */
export const LARGE_SIZES = [17 * MiB, 20 * MiB + 1, 24 * MiB - 1] as const;

/**
 * `count` blobs: the first `largeCount` over 16 MiB (LARGE_SIZES), then one in 100 of about 2 MiB, one in 25 empty,
 * and the rest from 1 KiB to 256 KiB. Names spread over ten folders (`estate/d0/` ... `estate/d9/`).
 */
export function estateBlobs(count: number, largeCount: number): EstateBlob[] {
  if (largeCount > LARGE_SIZES.length) throw new Error(`at most ${LARGE_SIZES.length} blobs over 16 MiB (asked for ${largeCount})`);
  if (largeCount > count) throw new Error(`${largeCount} large blobs do not fit in ${count}`);
  return Array.from({ length: count }, (_, index) => ({
    name: `estate/d${index % 10}/f${String(index).padStart(6, '0')}.bin`,
    size: estateSize(index, largeCount),
  }));
}

function estateSize(index: number, largeCount: number): number {
  if (index < largeCount) return LARGE_SIZES[index] ?? 0;
  if (index % 100 === 0) return 2 * MiB + index;
  if (index % 25 === 0) return 0;
  return 1024 + ((index * 7919) % (255 * 1024));
}

export function totalBytes(blobs: readonly EstateBlob[]): number {
  return blobs.reduce((sum, blob) => sum + blob.size, 0);
}
