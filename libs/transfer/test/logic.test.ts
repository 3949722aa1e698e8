import { describe, expect, it } from 'vitest';
import { BACKUP_METADATA } from '@blobferry/contract';
import { isRetryable } from '../src/classify.js';
import { ContentMd5MismatchError, SourceChangedError, TargetChangedError } from '../src/errors.js';
import { decodeHeaderValue, encodeHeaderValue } from '../src/metadata.js';
import { MAX_USER_METADATA_BYTES, planObjectProperties, type ObjectPropertiesOptions } from '../src/object-properties.js';
import { s3TagsOf, taggingHeaderOf } from '../src/tags.js';
import { recordedSourceOf } from '../src/ordering.js';
import { isConditionalWriteConflict } from '../src/classify.js';
import { pipelineParts, splitIntoParts } from '../src/pipeline.js';
import {
  AMAZON_S3_FEATURES,
  EndpointFeatureRejectedError,
  explainRejection,
  isChecksumRejection,
  isConditionalWriteRejection,
} from '../src/s3-endpoint.js';
import type { SourceSnapshot } from '../src/source.js';

const snapshot: SourceSnapshot = {
  etag: '"0x8DC0FFEE"',
  length: 3,
  contentMd5Base64: undefined,
  lastModified: new Date('2024-05-01T10:00:00Z'),
  contentType: 'text/plain',
  contentEncoding: undefined,
  contentLanguage: 'de',
  contentDisposition: 'attachment; filename="größe.txt"',
  cacheControl: 'no-cache',
  metadata: { Owner: 'alice', Note: 'naïve ☃' },
  blobType: 'BlockBlob',
  createdOn: new Date('2024-04-01T09:00:00Z'),
  accessTier: 'Cool',
  accessTierKnown: true,
  tagCount: 0,
};

const plan = (options: Partial<ObjectPropertiesOptions> = {}) =>
  planObjectProperties({ snapshot, md5Base64: 'md5==', sequencer: undefined, tags: {}, storageClass: 'STANDARD', ...options });

describe('metadata', () => {
  it('writes the documented names, unquoted ETag, ISO time and prefixed blob metadata', () => {
    const headers = plan({ sequencer: '000001' }).fields;
    expect(headers.Metadata).toEqual({
      [BACKUP_METADATA.sourceEtag]: '0x8DC0FFEE',
      [BACKUP_METADATA.sourceLastModified]: '2024-05-01T10:00:00.000Z',
      [BACKUP_METADATA.sourceMd5]: 'md5==',
      [BACKUP_METADATA.sequencer]: '000001',
      [BACKUP_METADATA.blobType]: 'BlockBlob',
      [BACKUP_METADATA.creationTime]: '2024-04-01T09:00:00.000Z',
      [BACKUP_METADATA.accessTier]: 'Cool',
      [BACKUP_METADATA.metadataNames]: 'Note,Owner',
      'blob-owner': 'alice',
      'blob-note': '=?UTF-8?B?bmHDr3ZlIOKYgw==?=',
    });
    expect(headers.StorageClass).toBeUndefined();
    expect(headers.Tagging).toBeUndefined();
    expect(headers.ContentType).toBe('text/plain');
    expect(headers.ContentEncoding).toBeUndefined();
    expect(decodeHeaderValue(headers.ContentDisposition ?? '')).toBe(snapshot.contentDisposition);
    expect(Object.values(headers.Metadata).every((value) => /^[\x20-\x7e]*$/.test(value))).toBe(true);
  });

  it('RFC 2047-encodes exactly the values that are not printable ASCII, and decodes them back', () => {
    for (const value of ['plain', '', 'tab\there', 'ünï', '😀', '=?looks-encoded?=', 'line\nbreak']) {
      const encoded = encodeHeaderValue(value);
      expect(/^[\x20-\x7e]*$/.test(encoded)).toBe(true);
      expect(decodeHeaderValue(encoded)).toBe(value);
    }
    expect(encodeHeaderValue('plain')).toBe('plain');
  });

  it('reads back what a target records', () => {
    const recorded = recordedSourceOf(plan().fields.Metadata);
    expect(recorded).toEqual({
      etag: '0x8DC0FFEE',
      lastModified: snapshot.lastModified,
      md5Base64: 'md5==',
      sequencer: undefined,
      blobType: 'BlockBlob',
      creationTime: snapshot.createdOn,
      accessTier: 'Cool',
      inSidecar: [],
      // The names given back their case.
      metadata: { Owner: 'alice', Note: 'naïve ☃' },
    });
    expect(recordedSourceOf({ 'source-last-modified': 'garbage' }).lastModified).toBeUndefined();
  });

  it("keeps metadata within S3's 2 KB and sends the rest to the sidecar, under its original names", () => {
    const big = Object.fromEntries(Array.from({ length: 12 }, (_, index) => [`Key${String(index).padStart(2, '0')}`, 'v'.repeat(200)]));
    const planned = plan({ snapshot: { ...snapshot, metadata: { ...big, small: 'x' } } });
    const bytes = Object.entries(planned.fields.Metadata).reduce(
      (sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value),
      0,
    );
    expect(bytes).toBeLessThanOrEqual(MAX_USER_METADATA_BYTES);
    const kept = Object.keys(recordedSourceOf(planned.fields.Metadata).metadata);
    const inSidecar = Object.keys(planned.sidecar?.metadata ?? {});
    expect([...kept, ...inSidecar].toSorted()).toEqual([...Object.keys(big), 'small'].toSorted());
    expect(kept).toContain('small');
    expect(inSidecar.length).toBeGreaterThan(0);
    expect(planned.fields.Metadata[BACKUP_METADATA.sidecar]).toBe('metadata');
    expect(recordedSourceOf(planned.fields.Metadata).inSidecar).toEqual(['metadata']);
  });

  it('maps the storage class and the tags, sending tags S3 reserves (aws:) to the sidecar', () => {
    const planned = plan({ storageClass: 'STANDARD_IA', tags: { 'a b': 'x+y/z', 'AWS:owner': 'me', k: '=:._-' } });
    expect(planned.fields.StorageClass).toBe('STANDARD_IA');
    expect(planned.fields.Tagging).toBe('a%20b=x%2By%2Fz&k=%3D%3A._-');
    expect(planned.tags).toEqual({ 'a b': 'x+y/z', k: '=:._-' });
    expect(planned.sidecar).toEqual({ metadata: {}, tags: { 'AWS:owner': 'me' } });
    expect(planned.fields.Metadata[BACKUP_METADATA.sidecar]).toBe('tags');
  });
});

describe('tags', () => {
  it('maps every character Azure allows as it is; only aws: keys cannot map', () => {
    const azureCharacters = 'abcXYZ 019+-./:=_';
    expect(s3TagsOf({ [azureCharacters]: azureCharacters, 'aws:x': '1', 'Aws:y': '2', awsz: '3' })).toEqual({
      mapped: { [azureCharacters]: azureCharacters, awsz: '3' },
      unmapped: { 'aws:x': '1', 'Aws:y': '2' },
    });
    expect(new URLSearchParams(taggingHeaderOf({ [azureCharacters]: azureCharacters }) ?? '').get(azureCharacters)).toBe(azureCharacters);
    expect(taggingHeaderOf({})).toBeUndefined();
  });
});

// Whether one request is tried again is the SDKs' business (S3_RETRY, AZURE_STORAGE_RETRY: their
// classification and the stated bound are tested in libs/retry-policy); this is the whole-copy decision.
describe('retry classification', () => {
  const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it('says which whole-copy failures are worth retrying', () => {
    expect(isRetryable(new SourceChangedError('x'))).toBe(true);
    expect(isRetryable(new TargetChangedError('x'))).toBe(true);
    expect(isRetryable(new ContentMd5MismatchError('a', 'b'))).toBe(false);
    expect(isRetryable(s3Error('InvalidArgument', 400))).toBe(false);
    expect(isRetryable(s3Error('AccessDenied', 403))).toBe(true);
    expect(isRetryable(s3Error('SlowDown', 503))).toBe(true);
    expect(isRetryable(Object.assign(new Error('a'), { name: 'AbortError' }))).toBe(false);
  });
});

describe('pipelineParts', () => {
  it('splits into parts with a short last part', () => {
    expect(splitIntoParts(11, 5)).toEqual([
      { partNumber: 1, offset: 0, count: 5 },
      { partNumber: 2, offset: 5, count: 5 },
      { partNumber: 3, offset: 10, count: 1 },
    ]);
    expect(splitIntoParts(0, 5)).toEqual([]);
  });

  it('consumes in order even when reads finish out of order, and never holds more than `concurrency` parts', async () => {
    const parts = splitIntoParts(40, 4);
    const order: number[] = [];
    let held = 0;
    let maxHeld = 0;
    await pipelineParts({
      parts,
      concurrency: 3,
      abortSignal: undefined,
      read: async (part) => {
        held++;
        maxHeld = Math.max(maxHeld, held);
        // Later parts of each window finish first.
        await new Promise((resolve) => setTimeout(resolve, (parts.length - part.partNumber) % 3));
        return Buffer.alloc(part.count, part.partNumber);
      },
      consumeInOrder: (part) => order.push(part.partNumber),
      process: async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        held--;
      },
    });
    expect(order).toEqual(parts.map((part) => part.partNumber));
    expect(maxHeld).toBeLessThanOrEqual(3);
  });

  it('stops at the first failure and rethrows it after every slot settled', async () => {
    const read: number[] = [];
    const processed: number[] = [];
    let inFlight = 0;
    const failure = new Error('part 3 failed');
    await expect(
      pipelineParts({
        parts: splitIntoParts(100, 10),
        concurrency: 2,
        abortSignal: undefined,
        read: async (part) => {
          read.push(part.partNumber);
          return Buffer.alloc(part.count);
        },
        consumeInOrder: () => undefined,
        // Part 1 takes 10 ms, so part 3 takes its slot and fails at once, while part 2 still has 40 ms to go.
        process: async (part) => {
          if (part.partNumber === 3) throw failure;
          inFlight++;
          await new Promise((resolve) => setTimeout(resolve, part.partNumber === 1 ? 10 : 50));
          inFlight--;
          processed.push(part.partNumber);
        },
      }),
    ).rejects.toBe(failure);
    // Nothing after the failure was read: parts 4..10 found the pipeline stopped.
    expect(read).toEqual([1, 2, 3]);
    // The slot still in flight (part 2) finished before the error came back.
    expect(inFlight).toBe(0);
    expect(processed).toEqual([1, 2]);
  });
});

describe('endpoint capabilities', () => {
  const s3Error = (name: string, status: number, message = name) =>
    Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

  it('tells a rejected feature from an integrity failure or a conflict', () => {
    expect(isChecksumRejection(s3Error('InvalidRequest', 400, 'Checksum algorithm CRC64NVME is not supported'))).toBe(true);
    expect(isChecksumRejection(s3Error('NotImplemented', 501, 'A header you provided implies functionality that is not implemented'))).toBe(
      true,
    );
    expect(isChecksumRejection(s3Error('BadDigest', 400, 'The CRC64NVME you specified did not match the calculated checksum'))).toBe(false);
    expect(isChecksumRejection(s3Error('AccessDenied', 403, 'checksum'))).toBe(false);
    expect(isConditionalWriteRejection(s3Error('InvalidArgument', 400, 'If-None-Match is not supported'))).toBe(true);
    expect(isConditionalWriteRejection(s3Error('InvalidArgument', 400, 'bad part number'))).toBe(false);
    expect(isConditionalWriteConflict(s3Error('PreconditionFailed', 412))).toBe(true);
    expect(isConditionalWriteConflict(s3Error('ConditionalRequestConflict', 409))).toBe(true);
    expect(isConditionalWriteConflict(s3Error('InternalError', 500))).toBe(false);
  });

  it('turns a refused configured feature into a retryable error that names the setting, and leaves other failures alone', () => {
    const refusedChecksum = explainRejection(
      s3Error('InvalidRequest', 400, 'Checksum algorithm CRC32 is not supported'),
      AMAZON_S3_FEATURES,
      's3://b/k',
    );
    expect(refusedChecksum).toBeInstanceOf(EndpointFeatureRejectedError);
    expect((refusedChecksum as Error).message).toMatch(/refused the CRC32 checksum.*CRC32C or none.*S3_CHECKSUM/);
    expect(isRetryable(refusedChecksum)).toBe(true);
    const refusedCondition = explainRejection(
      s3Error('NotImplemented', 501, 'If-None-Match is not implemented'),
      { checksum: 'none', conditionalWrites: true },
      's3://b/k',
    );
    expect((refusedCondition as Error).message).toMatch(/S3_CONDITIONAL_WRITES=false/);
    // Nothing to explain when the feature is not in use, or the failure is not a refusal.
    const conflict = s3Error('PreconditionFailed', 412);
    expect(explainRejection(conflict, AMAZON_S3_FEATURES, 's3://b/k')).toBe(conflict);
    const unsupported = s3Error('InvalidRequest', 400, 'Checksum algorithm CRC32 is not supported');
    expect(explainRejection(unsupported, { checksum: 'none', conditionalWrites: false }, 's3://b/k')).toBe(unsupported);
  });
});
