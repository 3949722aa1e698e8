import { describe, expect, it } from 'vitest';
import { putBlobProperties } from '../src/events/storage-events-proxy.js';

// The BlobCreated properties a Put Blob request determines by itself (Azure's Put Blob rules), and the
// requests that do not, whose properties the proxy reads back from Azurite instead.

describe('putBlobProperties', () => {
  it('takes a block blob length from its body and its content type from x-ms-blob-content-type first', () => {
    expect(
      putBlobProperties({
        'x-ms-blob-type': 'BlockBlob',
        'content-length': '65536',
        'x-ms-blob-content-type': 'image/png',
        'content-type': 'text/plain',
      }),
    ).toEqual({
      blobType: 'BlockBlob',
      contentLength: 65536,
      contentType: 'image/png',
    });
  });

  it('falls back to Content-Type, then to application/octet-stream', () => {
    expect(putBlobProperties({ 'x-ms-blob-type': 'BlockBlob', 'content-length': '3', 'content-type': 'text/csv' })?.contentType).toBe(
      'text/csv',
    );
    expect(putBlobProperties({ 'x-ms-blob-type': 'BlockBlob', 'content-length': '0' })).toEqual({
      blobType: 'BlockBlob',
      contentLength: 0,
      contentType: 'application/octet-stream',
    });
  });

  it('takes a page blob length from x-ms-blob-content-length, not from its empty body, and a new append blob is empty', () => {
    expect(
      putBlobProperties({ 'x-ms-blob-type': 'PageBlob', 'content-length': '0', 'x-ms-blob-content-length': '1024' })?.contentLength,
    ).toBe(1024);
    expect(putBlobProperties({ 'x-ms-blob-type': 'AppendBlob', 'content-length': '0' })?.contentLength).toBe(0);
  });

  it('says nothing (so the properties are read back) when the request does not state its length or its type', () => {
    expect(putBlobProperties({ 'x-ms-blob-type': 'BlockBlob', 'transfer-encoding': 'chunked' })).toBeUndefined();
    expect(putBlobProperties({ 'x-ms-blob-type': 'PageBlob', 'content-length': '0' })).toBeUndefined();
    expect(putBlobProperties({ 'x-ms-blob-type': 'BlockBlob', 'content-length': 'abc' })).toBeUndefined();
    expect(putBlobProperties({ 'x-ms-blob-type': 'DirectoryBlob', 'content-length': '1' })).toBeUndefined();
    expect(putBlobProperties({ 'content-length': '1' })).toBeUndefined();
  });
});
