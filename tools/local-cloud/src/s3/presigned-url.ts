import { ALGORITHM, amzDateToMs, S3AuthError, type QuerySigning, type SigV4Authorization } from './sigv4.js';

// A presigned URL carries Signature Version 4 in its query string (X-Amz-Algorithm, X-Amz-Credential,
// X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature, and X-Amz-Security-Token for a session's
// keys). S3 checks it as it checks a signed header, plus the URL's own lifetime: at most a week, refused once
// X-Amz-Date + X-Amz-Expires has passed. A session's URL also dies with the session, whatever X-Amz-Expires says
// (the caller's check, as for a header-signed request).

/** S3's ceiling on X-Amz-Expires: seven days. */
export const MAX_PRESIGNED_EXPIRES_SECONDS = 604_800;

/** S3 accepts a URL signed up to 15 minutes ahead of its clock, as it does a signed header. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

const REQUIRED = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'];

export interface PresignedAuthorization {
  auth: SigV4Authorization;
  querySigning: QuerySigning;
  /** X-Amz-Security-Token, which must be the session's when the key is a session's. */
  sessionToken: string | undefined;
}

/** Whether a request authenticates with its query string rather than an Authorization header. */
export function isPresigned(query: URLSearchParams): boolean {
  return query.has('X-Amz-Algorithm') || query.has('X-Amz-Signature') || query.has('X-Amz-Credential');
}

const queryError = (message: string) => new S3AuthError('AuthorizationQueryParametersError', 400, message);

/** Reads and checks a presigned URL's parameters against the clock and the endpoint's region; the signature is checked by the caller. */
export function parsePresigned(query: URLSearchParams, region: string, nowMs: number = Date.now()): PresignedAuthorization {
  if (REQUIRED.some((name) => !query.has(name))) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const value = (name: string) => query.get(name) ?? '';
  if (value('X-Amz-Algorithm') !== ALGORITHM) throw queryError(`X-Amz-Algorithm only supports "${ALGORITHM}"`);
  const credential = value('X-Amz-Credential').split('/');
  if (credential.length !== 5 || credential[4] !== 'aws4_request') {
    throw queryError(
      'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    );
  }
  const [accessKeyId = '', date = '', credentialRegion = '', service = ''] = credential;
  if (credentialRegion !== region) {
    throw queryError(`Error parsing the X-Amz-Credential parameter; the region '${credentialRegion}' is wrong; expecting '${region}'`);
  }
  if (service !== 's3')
    throw queryError(`Error parsing the X-Amz-Credential parameter; incorrect service "${service}". This endpoint belongs to "s3".`);

  const expiresText = value('X-Amz-Expires');
  if (!/^-?\d+$/.test(expiresText)) throw queryError('X-Amz-Expires should be a number');
  const expiresSeconds = Number(expiresText);
  if (expiresSeconds < 0) throw queryError('X-Amz-Expires must be non-negative');
  if (expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) {
    throw queryError(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES_SECONDS}`);
  }
  const amzDate = value('X-Amz-Date');
  const signedAt = amzDateToMs(amzDate);
  if (Number.isNaN(signedAt)) throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  if (!amzDate.startsWith(date)) throw queryError('Error parsing the X-Amz-Credential parameter; the date does not match X-Amz-Date');
  if (signedAt - nowMs > MAX_CLOCK_SKEW_MS) throw new S3AuthError('AccessDenied', 403, 'Request is not valid yet');
  if (nowMs > signedAt + expiresSeconds * 1000) throw new S3AuthError('AccessDenied', 403, 'Request has expired');

  return {
    auth: {
      accessKeyId,
      date,
      region: credentialRegion,
      service,
      signedHeaders: value('X-Amz-SignedHeaders').split(';'),
      signature: value('X-Amz-Signature'),
    },
    querySigning: { amzDate, payloadHash: query.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD' },
    sessionToken: query.get('X-Amz-Security-Token') ?? undefined,
  };
}
