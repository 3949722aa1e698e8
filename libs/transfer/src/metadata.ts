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
