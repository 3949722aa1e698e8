import { describe, expect, it } from 'vitest';
import type { RecordedSource } from '@blobferry/transfer';
import {
  classifyFromContent,
  classifyFromDigests,
  classifyFromListings,
  classifyWithRecord,
  contentCanDecide,
  md5FromEtag,
} from '../src/classification.js';
import type { SourceBlob } from '../src/listing/source-listing.js';
import { bytesEqualByMd5, propertyDifferences } from '../src/properties.js';
import type { TargetObject } from '../src/listing/target-listing.js';

const md5Hex = '5d41402abc4b2a76b9719d911017c592';
const md5Base64 = Buffer.from(md5Hex, 'hex').toString('base64');
const otherBase64 = Buffer.from('0'.repeat(32), 'hex').toString('base64');
const source = (over: Partial<SourceBlob> = {}): SourceBlob => ({
  name: 'n',
  etag: '"0x8DC"',
  size: 5,
  md5Base64,
  lastModified: new Date('2026-01-01T00:00:00Z'),
  ...over,
});
const record = (etag: string | undefined, md5: string | undefined): RecordedSource => ({
  etag,
  md5Base64: md5,
  lastModified: undefined,
  sequencer: undefined,
  blobType: undefined,
  creationTime: undefined,
  accessTier: undefined,
  inSidecar: [],
  metadata: {},
});
const target = (over: Partial<TargetObject> = {}): TargetObject => ({
  key: 'k',
  size: 5,
  etag: md5Hex,
  lastModified: new Date('2026-01-01T00:00:01Z'),
  ...over,
});

describe('shallow classification from the listings', () => {
  it('settles presence and size without any request', () => {
    expect(classifyFromListings(source(), undefined)).toBe('missing');
    expect(classifyFromListings(undefined, target())).toBe('extra');
    expect(classifyFromListings(source(), target({ size: 6 }))).toBe('sizeMismatch');
  });

  it('takes a single-part ETag equal to Content-MD5, written after the blob changed, as in sync', () => {
    expect(classifyFromListings(source(), target())).toBe('inSync');
  });

  it('takes an object of other bytes written before the blob last changed as stale, to the whole second', () => {
    const older = target({ etag: '0'.repeat(32), lastModified: new Date('2025-12-31T23:59:59.999Z') });
    expect(classifyFromListings(source(), older)).toBe('stale');
    // The same bytes, older: only the blob's properties changed since (Set Blob Metadata), which the HEAD tells.
    expect(classifyFromListings(source(), target({ lastModified: new Date('2025-12-31T23:59:59.999Z') }))).toBe('needsHead');
    // Azure lists Last-Modified to the second: a copy made later in the same second is not older.
    const blobAt = source({ lastModified: new Date('2026-01-01T00:00:00.700Z') });
    expect(classifyFromListings(blobAt, target({ lastModified: new Date('2026-01-01T00:00:00.100Z') }))).toBe('inSync');
  });

  it('takes a single-part ETag that is not the Content-MD5, written a second or more after the blob, as a checksum mismatch', () => {
    expect(classifyFromListings(source(), target({ etag: '0'.repeat(32) }))).toBe('checksumMismatch');
    // In the blob's own second the object may predate its change: the recorded version decides.
    const sameSecond = target({ etag: '0'.repeat(32), lastModified: new Date('2026-01-01T00:00:00.900Z') });
    expect(classifyFromListings(source(), sameSecond)).toBe('needsHead');
  });

  it('reads the recorded metadata when no MD5 compares: multipart, SSE-KMS, or no Content-MD5', () => {
    expect(classifyFromListings(source(), target({ etag: `${md5Hex}-2` }))).toBe('needsHead');
    expect(classifyFromListings(source(), target({ etagIsMd5: false }))).toBe('needsHead');
    expect(classifyFromListings(source({ md5Base64: undefined }), target())).toBe('needsHead');
  });

  it('never takes a multipart ETag for an MD5', () => {
    expect(md5FromEtag(`${md5Hex}-3`)).toBeUndefined();
    expect(md5FromEtag(md5Hex)).toBe(md5Base64);
  });
});

describe('classification with the recorded source version', () => {
  it("is stale when the recorded source ETag is not the blob's (quotes aside)", () => {
    expect(classifyWithRecord(source(), target(), record('0x8DB', md5Base64))).toBe('stale');
    expect(classifyWithRecord(source(), target(), record('0x8DC', md5Base64))).toBe('inSync');
  });

  it('compares Content-MD5 with the recorded MD5 and the single-part ETag', () => {
    const multipart = target({ etag: 'abc-2' });
    expect(classifyWithRecord(source(), multipart, record('0x8DC', md5Base64))).toBe('inSync');
    expect(classifyWithRecord(source(), multipart, record('0x8DC', otherBase64))).toBe('checksumMismatch');
    expect(classifyWithRecord(source(), target({ etag: '0'.repeat(32) }), record('0x8DC', md5Base64))).toBe('checksumMismatch');
  });

  it('is unverifiable when either side has no MD5', () => {
    expect(classifyWithRecord(source({ md5Base64: undefined }), target({ etag: 'abc-2' }), record('0x8DC', md5Base64))).toBe(
      'unverifiable',
    );
    expect(classifyWithRecord(source(), target({ etag: 'abc-2' }), record(undefined, undefined))).toBe('unverifiable');
  });

  it('lets --deep digests decide content, keeping stale and size evidence', () => {
    expect(classifyFromDigests('unverifiable', md5Base64, md5Base64)).toBe('inSync');
    expect(classifyFromDigests('inSync', md5Base64, otherBase64)).toBe('checksumMismatch');
    expect(classifyFromDigests('stale', md5Base64, md5Base64)).toBe('stale');
  });

  it('lets a deep content comparison (both MD5s, or the blob CRC against the stored one) decide only what content can', () => {
    expect(classifyFromContent('inSync', false)).toBe('checksumMismatch');
    expect(classifyFromContent('unverifiable', true)).toBe('inSync');
    expect(classifyFromContent('checksumMismatch', true)).toBe('inSync');
    for (const kind of ['stale', 'sizeMismatch', 'missing', 'extra', 'error'] as const) {
      expect(contentCanDecide(kind)).toBe(false);
      expect(classifyFromContent(kind, true)).toBe(kind);
    }
    // Equal bytes confirm "properties differ, bytes equal"; other bytes make it a content difference.
    expect(classifyFromContent('propertiesDiffer', true)).toBe('propertiesDiffer');
    expect(classifyFromContent('propertiesDiffer', false)).toBe('checksumMismatch');
  });
});

describe('properties differ, bytes equal', () => {
  const target: TargetObject = { key: 'k', size: 5, etag: md5Hex, lastModified: new Date('2026-01-02T00:00:00Z') };
  const recorded = (over: Partial<RecordedSource> = {}): RecordedSource => ({ ...record('0x1', md5Base64), ...over });
  const head = { storageClass: 'STANDARD', tagCount: 0 };

  it('shows the bytes equal by the listed Content-MD5 and the recorded one, at the same size', () => {
    expect(bytesEqualByMd5(source(), target, recorded())).toBe(true);
    expect(bytesEqualByMd5(source({ md5Base64: otherBase64 }), target, recorded())).toBe(false);
    expect(bytesEqualByMd5(source({ md5Base64: undefined }), target, recorded())).toBe(false);
    expect(bytesEqualByMd5(source({ size: 6 }), target, recorded())).toBe(false);
  });

  it('compares the tier and type only against a record, metadata and tags only when listed', async () => {
    const differences = (over: Partial<SourceBlob>, record: RecordedSource, objectTags?: Record<string, string>) =>
      propertyDifferences({
        source: source(over),
        record,
        head: { ...head, tagCount: Object.keys(objectTags ?? {}).length },
        storageClassByTier: undefined,
        objectTags: objectTags ? () => Promise.resolve(objectTags) : undefined,
      });
    // An object written before blobferry recorded the tier has nothing to contradict a shallow run with.
    expect(await differences({ accessTier: 'Cool' }, recorded())).toEqual([]);
    expect(
      await differences({ accessTier: 'Cool', blobType: 'BlockBlob' }, recorded({ accessTier: 'Hot', blobType: 'AppendBlob' })),
    ).toEqual(['access-tier', 'blob-type']);
    expect(
      await differences({ metadata: { Owner: 'a' }, tags: { k: 'v', 'aws:x': '1' } }, recorded({ metadata: { owner: 'a' } }), { k: 'v' }),
    ).toEqual(['metadata']);
    expect(await differences({ metadata: {}, tags: { k: 'w' } }, recorded(), { k: 'v' })).toEqual(['tags']);
    // Metadata kept in the sidecar is not on the object to compare.
    expect(await differences({ metadata: { big: 'x' } }, recorded({ inSidecar: ['metadata'] }))).toEqual([]);
  });

  it('compares the storage class when the mapping is given', async () => {
    const storageClassOf = (accessTier: string | undefined, storageClass: string) =>
      propertyDifferences({
        source: source(accessTier ? { accessTier } : {}),
        record: recorded(accessTier ? { accessTier } : {}),
        head: { storageClass, tagCount: 0 },
        storageClassByTier: { Cool: 'STANDARD_IA' },
        objectTags: undefined,
      });
    expect(await storageClassOf('Cool', 'STANDARD_IA')).toEqual([]);
    expect(await storageClassOf('Cool', 'STANDARD')).toEqual(['storage-class']);
    expect(await storageClassOf('Hot', 'STANDARD')).toEqual([]);
    expect(await storageClassOf(undefined, 'GLACIER')).toEqual(['storage-class']);
  });
});
