import { describe, expect, it } from 'vitest';
import { estateBlobs } from '../src/estate.ts';
import { PLANT_EVERY, noChanges, plantedChanges, plantedKindAt } from '../src/planted-changes.ts';
import { PROFILES } from '../src/profile.ts';

const MiB = 1024 * 1024;

describe('the changes the sweep scenario plants', () => {
  it('plants one blob in 100 of each kind in the 2,000-blob estate, each blob at most once', () => {
    const { count, largeCount } = PROFILES.full.backfill;
    const blobs = estateBlobs(count, largeCount);
    const planted = plantedChanges(blobs);
    for (const kind of ['missing', 'stale', 'metadata', 'tags'] as const) expect(planted[kind]).toHaveLength(count / PLANT_EVERY);
    const names = Object.values(planted).flatMap((changed) => changed.map((blob) => blob.name));
    expect(new Set(names).size).toBe(names.length);
    // A rewritten blob keeps its size: an empty one would not change.
    expect(planted.stale.every((blob) => blob.size > 0)).toBe(true);
    // Among them a backup over 16 MiB deleted and one such blob rewritten (the sweep looks for an upload in flight).
    expect(planted.missing[0]?.size).toBeGreaterThan(16 * MiB);
    expect(planted.stale[0]?.size).toBeGreaterThan(16 * MiB);
  });

  it('chooses by index, the same every time', () => {
    expect([0, 1, 2, 3, 4, 5, 101, 199, 204].map(plantedKindAt)).toEqual([
      undefined,
      'missing',
      'stale',
      'metadata',
      'tags',
      undefined,
      'missing',
      undefined,
      'tags',
    ]);
    expect(noChanges()).toEqual({ missing: [], stale: [], metadata: [], tags: [] });
  });
});
