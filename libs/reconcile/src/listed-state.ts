import { createHash } from 'node:crypto';
import type { SourceBlob } from './listing/source-listing.js';
import type { TargetObject } from './listing/target-listing.js';

// What the two listings said of a pair, as one short digest: every field of the blob's entry (ETag, size, MD5,
// time, type, tier, metadata, tags) and of the object's (ETag, size, time), whatever fields the listings carry.
// An equal digest on a later run means neither listing changed for the pair.

/** Objects with their keys sorted, so that a record listed in another order digests the same. */
function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The listed state of a pair present on both sides: 128 bits of SHA-256, base64url (22 characters). */
export function listedStateOf(source: SourceBlob, target: TargetObject): string {
  const { name: _name, ...blob } = source;
  const { key: _key, ...object } = target;
  return createHash('sha256').update(JSON.stringify({ blob, object }, sortedKeys)).digest('base64url').slice(0, 22);
}
