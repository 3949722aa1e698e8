import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

// Azure Storage's Shared Key authorization (`Authorization: SharedKey <account>:<signature>`), as the Azure SDKs
// sign it: the blob front checks a From-URL request it answers itself, and signs the plain Put Block / Put Blob it
// sends Azurite in its place. Canonical headers are ordered as the service orders them, which ignores hyphens
// first (a .NET culture-aware sort); names that differ only in hyphens then fall back to code-unit order.

const SIGNED_STANDARD_HEADERS = [
  'content-language',
  'content-encoding',
  'content-length',
  'content-md5',
  'content-type',
  'date',
  'if-modified-since',
  'if-match',
  'if-none-match',
  'if-unmodified-since',
  'range',
] as const;

export interface SharedKeyRequest {
  method: string;
  /** Path and query as sent: `/<account>/<container>/<blob>?comp=block&blockid=...`. */
  rawUrl: string;
  headers: IncomingHttpHeaders;
}

function single(value: string | string[] | number | undefined): string {
  if (value === undefined) return '';
  return Array.isArray(value) ? value.join(',') : String(value);
}

function headerOrder(a: string, b: string): number {
  const [bareA, bareB] = [a.replaceAll('-', ''), b.replaceAll('-', '')];
  if (bareA !== bareB) return bareA < bareB ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function stringToSign(accountName: string, request: SharedKeyRequest): string {
  const standard = SIGNED_STANDARD_HEADERS.map((name) => {
    const value = single(request.headers[name]);
    return name === 'content-length' && value === '0' ? '' : value;
  });
  const canonicalHeaders = Object.keys(request.headers)
    .filter((name) => name.toLowerCase().startsWith('x-ms-'))
    .sort(headerOrder)
    .map((name) => `${name.toLowerCase()}:${single(request.headers[name]).trimStart()}\n`)
    .join('');
  const url = new URL(request.rawUrl, 'http://local');
  const queries = [...new Set([...url.searchParams.keys()].map((key) => key.toLowerCase()))].sort();
  const resource = [`/${accountName}${url.pathname}`, ...queries.map((key) => `${key}:${url.searchParams.get(key) ?? ''}`)].join('\n');
  return `${[request.method.toUpperCase(), ...standard].join('\n')}\n${canonicalHeaders}${resource}`;
}

/** The `Authorization` header value for a request. */
export function sharedKeyAuthorization(accountName: string, accountKey: string, request: SharedKeyRequest): string {
  const signature = createHmac('sha256', Buffer.from(accountKey, 'base64'))
    .update(stringToSign(accountName, request), 'utf8')
    .digest('base64');
  return `SharedKey ${accountName}:${signature}`;
}

/** Whether a request carries the Shared Key signature the account key makes. */
export function hasValidSharedKey(accountName: string, accountKey: string, request: SharedKeyRequest): boolean {
  const given = Buffer.from(single(request.headers.authorization));
  const expected = Buffer.from(sharedKeyAuthorization(accountName, accountKey, request));
  return given.length === expected.length && timingSafeEqual(given, expected);
}
