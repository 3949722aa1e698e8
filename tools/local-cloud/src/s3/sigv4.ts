import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

// Checks an S3 request's Signature Version 4 (Authorization header) the way S3 does: S3 rebuilds the
// canonical request from what it received, with the headers the client says it signed. The SDKs only
// sign (their signer chooses which headers to sign), so the check is written here, in the few lines the
// SigV4 specification takes.

/** What the Authorization header says. */
export interface SigV4Authorization {
  accessKeyId: string;
  /** yyyymmdd */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

export class S3AuthError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'S3AuthError';
  }
}

export const ALGORITHM = 'AWS4-HMAC-SHA256';
/** The query parameter a presigned URL carries its signature in. */
const PRESIGNED_SIGNATURE = 'X-Amz-Signature';

export function parseAuthorization(header: string): SigV4Authorization {
  const malformed = (why: string) => new S3AuthError('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; ${why}`);
  if (!header.startsWith(`${ALGORITHM} `)) {
    throw new S3AuthError('InvalidArgument', 400, `Unsupported Authorization Type: only ${ALGORITHM} (Signature Version 4) is accepted`);
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const [name, ...value] = part.trim().split('=');
    if (name) fields.set(name, value.join('='));
  }
  const credential = fields.get('Credential')?.split('/');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || credential.length !== 5 || credential[4] !== 'aws4_request')
    throw malformed('the Credential is not <key>/<date>/<region>/<service>/aws4_request');
  if (!signedHeaders || !signature) throw malformed('SignedHeaders and Signature are required');
  const [accessKeyId = '', date = '', region = '', service = ''] = credential;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** RFC 3986 encoding, as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper case). */
function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** S3 decodes the path and encodes each segment again: a client must have signed that form. */
function canonicalPath(rawPath: string): string {
  return rawPath
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
}

/** The signed query: every parameter but the signature itself (present only in a presigned URL). */
function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const at = pair.indexOf('=');
      const [key, value] = at === -1 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
      return [uriEncode(decodeURIComponent(key)), uriEncode(decodeURIComponent(value))] as const;
    })
    .filter(([key]) => key !== PRESIGNED_SIGNATURE);
  pairs.sort(([keyA, valueA], [keyB, valueB]) => (keyA < keyB ? -1 : keyA > keyB ? 1 : valueA < valueB ? -1 : valueA > valueB ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ');
}

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** Signing keys are the same for a secret all day; each is four HMACs. */
const signingKeys = new Map<string, Buffer>();
function signingKey(secretAccessKey: string, auth: Omit<SigV4Authorization, 'signature'>): Buffer {
  const cacheKey = `${secretAccessKey}/${auth.date}/${auth.region}/${auth.service}`;
  let key = signingKeys.get(cacheKey);
  if (!key) {
    if (signingKeys.size > 1000) signingKeys.clear();
    key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, auth.date), auth.region), auth.service), 'aws4_request');
    signingKeys.set(cacheKey, key);
  }
  return key;
}

export interface SignedRequest {
  method: string;
  /** The request target as sent (path and query, still encoded). */
  rawUrl: string;
  headers: IncomingHttpHeaders;
}

/**
 * Where a presigned URL keeps what the Authorization header form keeps in headers: the signing time, and the
 * payload hash (UNSIGNED-PAYLOAD unless the URL names one).
 */
export interface QuerySigning {
  amzDate: string;
  payloadHash: string;
}

/** Throws S3's error when the request's signature is not the one its secret key makes. */
export function verifySignature(
  request: SignedRequest,
  auth: SigV4Authorization,
  secretAccessKey: string,
  querySigning?: QuerySigning,
): void {
  const expected = signatureOf(request, auth, secretAccessKey, querySigning);
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new S3AuthError(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  }
}

/** The signature of a request over `auth`'s scope and signed headers (its `signature` is not read). */
export function signatureOf(
  request: SignedRequest,
  auth: Omit<SigV4Authorization, 'signature'>,
  secretAccessKey: string,
  querySigning?: QuerySigning,
): Buffer {
  const amzDate = querySigning?.amzDate ?? headerValue(request.headers, 'x-amz-date');
  const payloadHash = querySigning?.payloadHash ?? headerValue(request.headers, 'x-amz-content-sha256');
  if (!amzDate) throw new S3AuthError('AccessDenied', 403, 'AWS authentication requires a valid Date or x-amz-date header');
  if (!payloadHash) throw new S3AuthError('InvalidRequest', 400, 'Missing required header for this request: x-amz-content-sha256');
  if (!auth.signedHeaders.includes('host')) throw new S3AuthError('AccessDenied', 403, 'The host header must be signed');
  const queryAt = request.rawUrl.indexOf('?');
  const [rawPath, rawQuery] = queryAt === -1 ? [request.rawUrl, ''] : [request.rawUrl.slice(0, queryAt), request.rawUrl.slice(queryAt + 1)];
  let canonicalRequest: string;
  try {
    canonicalRequest = [
      request.method,
      canonicalPath(rawPath),
      canonicalQuery(rawQuery),
      auth.signedHeaders.map((name) => `${name}:${headerValue(request.headers, name) ?? ''}\n`).join(''),
      auth.signedHeaders.join(';'),
      payloadHash,
    ].join('\n');
  } catch {
    throw new S3AuthError('InvalidURI', 400, "Couldn't parse the specified URI.");
  }
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  return createHmac('sha256', signingKey(secretAccessKey, auth)).update(stringToSign).digest();
}

/** `20261206T101500Z` -> ms since the epoch (NaN when malformed). */
export function amzDateToMs(amzDate: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!match) return Number.NaN;
  const [, year, month, day, hour, minute, second] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(year, month - 1, day, hour, minute, second);
}
