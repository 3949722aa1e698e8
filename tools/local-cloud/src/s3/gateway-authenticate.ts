import type { IncomingMessage } from 'node:http';
import type { IamRole } from '../iam/model.js';
import type { RoleSessions } from '../iam/sessions.js';
import { isPresigned, parsePresigned } from './presigned-url.js';
import { amzDateToMs, parseAuthorization, S3AuthError, verifySignature, type SigV4Authorization, type SignedRequest } from './sigv4.js';

/** Who signed a request. */
export interface Caller {
  arn: string;
  /** Undefined for the administrator. */
  policies: IamRole['policies'] | undefined;
}

export interface AuthenticateOptions {
  region: string;
  accountId: string;
  /** The emulator's own key pair: the account's administrator, allowed everything. */
  administrator: { accessKeyId: string; secretAccessKey: string };
  sessions: RoleSessions;
  roles: readonly IamRole[];
}

/** S3 refuses requests signed more than 15 minutes away from its clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

/**
 * Checks a request's Signature Version 4 against the key pair it names, and says whose pair that is: signed in
 * the Authorization header, or in the query string of a presigned URL.
 */
export function authenticate(request: IncomingMessage, options: AuthenticateOptions): Caller {
  const signed: SignedRequest = { method: request.method ?? 'GET', rawUrl: request.url ?? '/', headers: request.headers };
  const query = new URL(signed.rawUrl, 'http://local').searchParams;
  if (isPresigned(query)) {
    if (request.headers.authorization !== undefined) {
      throw new S3AuthError(
        'InvalidArgument',
        400,
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      );
    }
    const presigned = parsePresigned(query, options.region);
    return callerOf(presigned.auth, presigned.sessionToken, options, (secret) =>
      verifySignature(signed, presigned.auth, secret, presigned.querySigning),
    );
  }
  const auth = parseAuthorization(authorizationHeader(request));
  checkScope(request, auth, options.region);
  const token = request.headers['x-amz-security-token'];
  return callerOf(auth, typeof token === 'string' ? token : undefined, options, (secret) => verifySignature(signed, auth, secret));
}

/**
 * The administrator, or the session the key pair belongs to: its token must come with it, the signature must
 * be the one its secret makes, and the session must not have expired (a presigned URL dies with its session).
 */
function callerOf(
  auth: SigV4Authorization,
  sessionToken: string | undefined,
  options: AuthenticateOptions,
  verify: (secretAccessKey: string) => void,
): Caller {
  if (auth.accessKeyId === options.administrator.accessKeyId) {
    verify(options.administrator.secretAccessKey);
    return { arn: `arn:aws:iam::${options.accountId}:root`, policies: undefined };
  }
  const session = options.sessions.find(auth.accessKeyId);
  if (!session) throw new S3AuthError('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
  if (sessionToken !== session.sessionToken) {
    throw new S3AuthError('InvalidToken', 400, 'The provided token is malformed or otherwise invalid.');
  }
  verify(session.secretAccessKey);
  if (Date.now() >= session.expiration.getTime()) throw new S3AuthError('ExpiredToken', 400, 'The provided token has expired.');
  return { arn: session.assumedRoleArn, policies: options.roles.find((role) => role.arn === session.roleArn)?.policies ?? [] };
}

function authorizationHeader(request: IncomingMessage): string {
  const header = request.headers.authorization;
  if (header !== undefined) return header;
  throw new S3AuthError('AccessDenied', 403, 'Access Denied');
}

/** The signature must be for S3 in the gateway's region, made within the allowed clock skew. */
function checkScope(request: IncomingMessage, auth: SigV4Authorization, region: string): void {
  if (auth.service !== 's3')
    throw new S3AuthError(
      'AuthorizationHeaderMalformed',
      400,
      `The authorization header is malformed; the service '${auth.service}' is wrong; expecting 's3'`,
    );
  if (auth.region !== region) {
    throw new S3AuthError(
      'AuthorizationHeaderMalformed',
      400,
      `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${region}'`,
    );
  }
  const signedAt = amzDateToMs(String(request.headers['x-amz-date'] ?? ''));
  if (Number.isNaN(signedAt) || Math.abs(Date.now() - signedAt) > MAX_CLOCK_SKEW_MS) {
    throw new S3AuthError('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.');
  }
}
