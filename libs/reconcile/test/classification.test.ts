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

  it('reads the recorded metadata when the object is older than the blob, multipart, or hashes differently', () => {
    expect(classifyFromListings(source(), target({ lastModified: new Date('2025-12-31T00:00:00Z') }))).toBe('needsHead');
    expect(classifyFromListings(source(), target({ etag: `${md5Hex}-2` }))).toBe('needsHead');
    expect(classifyFromListings(source(), target({ etag: '0'.repeat(32) }))).toBe('needsHead');
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
  });
});
