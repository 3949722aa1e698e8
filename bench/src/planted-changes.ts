import type { EstateBlob } from './estate.js';

// The changes the sweep scenario plants in its second copy of the estate: one blob in PLANT_EVERY of each kind,
// chosen by its index, so every run and every tool meets the same set.

/** One blob in PLANT_EVERY of each kind. */
export const PLANT_EVERY = 100;
/** Each kind's remainder of the blob's index: `missing` (its backup deleted) takes index 1, a blob over 16 MiB. */
const PLANTED_AT = { missing: 1, stale: 2, metadata: 3, tags: 4 } as const;
export type PlantedKind = keyof typeof PLANTED_AT;
const KINDS = Object.keys(PLANTED_AT) as PlantedKind[];

/** Which kind of change, if any, the blob at `index` gets. */
export function plantedKindAt(index: number): PlantedKind | undefined {
  return KINDS.find((kind) => PLANTED_AT[kind] === index % PLANT_EVERY);
}

/** The blobs of each kind of change. */
export function plantedChanges(blobs: readonly EstateBlob[]): Record<PlantedKind, EstateBlob[]> {
  const planted = Object.fromEntries(KINDS.map((kind) => [kind, [] as EstateBlob[]])) as Record<PlantedKind, EstateBlob[]>;
  blobs.forEach((blob, index) => {
    const kind = plantedKindAt(index);
    if (kind) planted[kind].push(blob);
  });
  return planted;
}

/** None of each kind: the container in sync. */
export function noChanges(): Record<PlantedKind, EstateBlob[]> {
  return plantedChanges([]);
}
