import type { StorageClass } from '@blobferry/contract';
import { sameRecord, type RecordedSource, type StorageClassByTier } from '@blobferry/transfer';
import type { SourceBlob } from './listing/source-listing.js';
import type { TargetObject } from './listing/target-listing.js';

// "Properties differ, bytes equal": what an object's HEAD (and, in a `properties` run, the listing's
// metadata and tags and the object's tags) shows of the blob's properties against what the object records.

/** Which of a blob's properties the object does not hold as the blob has them. */
export type PropertyDifference = 'source-version' | 'metadata' | 'tags' | 'access-tier' | 'blob-type' | 'storage-class';

/** What a HEAD says of an object besides its metadata. */
export interface HeadProperties {
  storageClass: string;
  tagCount: number;
}

/**
 * A newer version of the blob with the object's bytes: the same size, and the blob's Content-MD5 (as
 * listed) equal to the MD5 the object records. Set Blob Metadata and Set Blob Properties give a blob a new
 * ETag and Last-Modified and keep its bytes.
 */
export function bytesEqualByMd5(source: SourceBlob, target: TargetObject, record: RecordedSource): boolean {
  return source.size === target.size && source.md5Base64 !== undefined && source.md5Base64 === record.md5Base64;
}

/** S3 refuses tag keys starting with aws: (the copy keeps those in the sidecar): they are not compared. */
const S3_RESERVED_TAG = /^aws:/i;

export interface PropertyDifferencesOptions {
  source: SourceBlob;
  record: RecordedSource;
  head: HeadProperties;
  /** The storage class each tier maps to; without it the storage class is not compared. */
  storageClassByTier: StorageClassByTier | undefined;
  /**
   * The object's tags, read only when needed (a `properties` run whose blob or object has tags); without
   * it, and without the listing's tags, tags are not compared.
   */
  objectTags: (() => Promise<Record<string, string>>) | undefined;
}

/**
 * The properties that differ, as far as the evidence goes: the tier and blob type only against what the
 * object records (an object written before blobferry recorded them has no record to contradict); metadata
 * and tags only with a listing that includes them.
 */
export async function propertyDifferences(o: PropertyDifferencesOptions): Promise<PropertyDifference[]> {
  const { source, record, head } = o;
  const differing: PropertyDifference[] = [];
  const listedProperties = source.metadata !== undefined;
  if ((record.accessTier !== undefined || listedProperties) && record.accessTier !== source.accessTier) differing.push('access-tier');
  if (record.blobType !== undefined && source.blobType !== undefined && record.blobType !== source.blobType) differing.push('blob-type');
  // Metadata that went to the sidecar is not on the object to compare.
  if (source.metadata !== undefined && !record.inSidecar.includes('metadata') && !sameRecord(source.metadata, record.metadata))
    differing.push('metadata');
  if (o.storageClassByTier) {
    const wanted: StorageClass =
      (source.accessTier ? o.storageClassByTier[source.accessTier as keyof StorageClassByTier] : undefined) ?? 'STANDARD';
    if (wanted !== head.storageClass) differing.push('storage-class');
  }
  if (source.tags !== undefined && o.objectTags) {
    const wanted = Object.fromEntries(Object.entries(source.tags).filter(([key]) => !S3_RESERVED_TAG.test(key)));
    const held = Object.keys(wanted).length === 0 && head.tagCount === 0 ? {} : await o.objectTags();
    if (!sameRecord(wanted, held)) differing.push('tags');
  }
  return differing;
}
