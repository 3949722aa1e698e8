import { BACKUP_METADATA } from '@blobferry/contract';
import type { SourceSnapshot } from './source.js';

// S3 user metadata travels in HTTP headers and must be printable US-ASCII. Anything else is stored as an
// RFC 2047 encoded word, `=?UTF-8?B?<base64 of the UTF-8 bytes>?=`, which is also how S3 itself returns
// non-ASCII metadata. A plain value that happens to look like an encoded word is encoded too, so
// decoding is unambiguous.
const printableAscii = /^[\x20-\x7e]*$/;
const encodedWord = /^=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=$/i;

export function encodeHeaderValue(value: string): string {
  if (printableAscii.test(value) && !value.startsWith('=?')) return value;
  return `=?UTF-8?B?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

export function decodeHeaderValue(value: string): string {
  const match = encodedWord.exec(value);
  return match ? Buffer.from(match[1] ?? '', 'base64').toString('utf8') : value;
}

export function stripQuotes(etag: string): string {
  return etag.replace(/^(W\/)?"|"$/g, '');
}

/**
 * Everything the object carries besides its bytes: our provenance metadata and the blob's own headers.
 * `md5Base64` is undefined when the MD5 is not known before the write starts (see putMultipart).
 */
export function targetHeadersFor(snapshot: SourceSnapshot, md5Base64: string | undefined, sequencer: string | undefined) {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(snapshot.metadata)) {
    metadata[`${BACKUP_METADATA.blobMetadataPrefix}${name.toLowerCase()}`] = encodeHeaderValue(value);
  }
  metadata[BACKUP_METADATA.sourceEtag] = stripQuotes(snapshot.etag);
  metadata[BACKUP_METADATA.sourceLastModified] = snapshot.lastModified.toISOString();
  if (md5Base64 !== undefined) metadata[BACKUP_METADATA.sourceMd5] = md5Base64;
  if (sequencer !== undefined) metadata[BACKUP_METADATA.sequencer] = encodeHeaderValue(sequencer);
  const optional = (value: string | undefined) => (value === undefined || value === '' ? undefined : encodeHeaderValue(value));
  return {
    Metadata: metadata,
    ContentType: optional(snapshot.contentType),
    ContentEncoding: optional(snapshot.contentEncoding),
    ContentLanguage: optional(snapshot.contentLanguage),
    ContentDisposition: optional(snapshot.contentDisposition),
    CacheControl: optional(snapshot.cacheControl),
  };
}
