import type { RecordedSource } from '@blobferry/transfer';
import type { SourceBlob } from './listing/source-listing.js';
import type { TargetObject } from './listing/target-listing.js';

/**
 * Every way a name can differ between the container and its backup. `propertiesDiffer`: the object holds
 * the blob's bytes, but its properties (metadata, headers, tags, tier, storage class) are not the blob's,
 * e.g. after Set Blob Metadata or Set Blob Tags, which raise no event. `error`: a request about this one
 * object failed (a HEAD refused, a blob deleted mid-run), so it could not be classified; the run goes on.
 */
export const DIFFERENCE_KINDS = [
  'missing',
  'extra',
  'sizeMismatch',
  'checksumMismatch',
  'stale',
  'propertiesDiffer',
  'unverifiable',
  'error',
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];
export type Classification = 'inSync' | DifferenceKind;

const SINGLE_PART_ETAG = /^[0-9a-f]{32}$/i;

/** A single-part ETag is the hex MD5 of the bytes (s3rver, moto, SSE-S3); a multipart one ("...-N") never is. */
export function md5FromEtag(etag: string): string | undefined {
  return SINGLE_PART_ETAG.test(etag) ? Buffer.from(etag, 'hex').toString('base64') : undefined;
}

/** The MD5 an object's ETag gives, if it is one (single-part, and not SSE-KMS or SSE-C where that is known). */
export function etagMd5Of(target: TargetObject): string | undefined {
  return target.etagIsMd5 === false ? undefined : md5FromEtag(target.etag);
}

/** Azure lists Last-Modified to the second; comparing whole seconds keeps a copy made in the same second current. */
function wholeSeconds(time: Date): number {
  return Math.floor(time.getTime() / 1000);
}

function unquoted(etag: string): string {
  return etag.replaceAll('"', '');
}

/**
 * What the two listings (or inventory reports) alone prove, or 'needsHead' when the object's recorded metadata
 * must be read. Designed so an in-sync backup of single-part objects needs no request per object. libs/inventory
 * settles in-sync pairs in DuckDB by the same rule (its test holds the two together).
 */
export function classifyFromListings(source: SourceBlob | undefined, target: TargetObject | undefined): Classification | 'needsHead' {
  if (!target) return 'missing';
  if (!source) return 'extra';
  if (source.size !== target.size) return 'sizeMismatch';
  const objectSecond = wholeSeconds(target.lastModified);
  const blobSecond = wholeSeconds(source.lastModified);
  const etagMd5 = etagMd5Of(target);
  if (etagMd5 && source.md5Base64) {
    if (etagMd5 === source.md5Base64) {
      // The blob's bytes. Written before the blob last changed, only its properties can differ: the HEAD tells.
      return objectSecond >= blobSecond ? 'inSync' : 'needsHead';
    }
    // Other bytes: written before the blob last changed, an older version; written a later second, not a copy of
    // it. Within the blob's own second the object may predate the change, which only its recorded version tells.
    if (objectSecond < blobSecond) return 'stale';
    if (objectSecond > blobSecond) return 'checksumMismatch';
  }
  return 'needsHead';
}

/**
 * Classification once the object's recorded source version and MD5 are known (sizes already agree),
 * as libs/transfer's `recordedSourceOf` reads them from its metadata.
 */
export function classifyWithRecord(source: SourceBlob, target: TargetObject, record: RecordedSource): Classification {
  if (record.etag !== undefined && unquoted(record.etag) !== unquoted(source.etag)) return 'stale';
  const etagMd5 = etagMd5Of(target);
  const targetMd5s = [etagMd5, record.md5Base64].filter((md5): md5 is string => md5 !== undefined);
  // The stored bytes' MD5 (single-part ETag) disagreeing with what the copy streamed means the object changed since.
  if (etagMd5 && record.md5Base64 && etagMd5 !== record.md5Base64) return 'checksumMismatch';
  if (!source.md5Base64 || targetMd5s.length === 0) return 'unverifiable';
  return targetMd5s.every((md5) => md5 === source.md5Base64) ? 'inSync' : 'checksumMismatch';
}

/**
 * Classification once `--deep` has compared content (`sameContent`): both sides' MD5s, or the source's
 * CRC and size against the full-object checksum S3 stores. `stale` and size evidence stand as found.
 */
export function classifyFromContent(shallow: Classification, sameContent: boolean): Classification {
  if (!contentCanDecide(shallow)) return shallow;
  if (!sameContent) return 'checksumMismatch';
  // Equal bytes confirm that only the properties differ.
  return shallow === 'propertiesDiffer' ? shallow : 'inSync';
}

/** Whether reading content could change the shallow verdict (it cannot for stale, size or one-sided evidence). */
export function contentCanDecide(shallow: Classification): boolean {
  return !(shallow === 'stale' || shallow === 'sizeMismatch' || shallow === 'missing' || shallow === 'extra' || shallow === 'error');
}

/** Classification from hashing both sides' bytes (`--deep` without a stored full-object checksum). */
export function classifyFromDigests(shallow: Classification, sourceMd5Base64: string, targetMd5Base64: string): Classification {
  return classifyFromContent(shallow, sourceMd5Base64 === targetMd5Base64);
}
