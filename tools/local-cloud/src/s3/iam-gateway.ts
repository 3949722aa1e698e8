import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../close-server.js';
import { readRequestBody } from '../request-body.js';
import { escapeXml } from '../xml-text.js';
import type { IamRole } from '../iam/model.js';
import { evaluateIdentityPolicies } from '../iam/policy.js';
import type { RoleSessions } from '../iam/sessions.js';
import { deleteObjectsPermissions, s3Operation, type RequiredPermission } from './s3-permissions.js';
import { amzDateToMs, parseAuthorization, S3AuthError, verifySignature } from './sigv4.js';

// The S3 endpoint clients of the local cloud talk to: it authenticates each request and authorizes it as
// Amazon S3 would, then forwards it to the emulator, which checks neither.
//   - Signature Version 4 in the Authorization header, from a key pair it knows: the emulator's own pair,
//     standing for the account's administrator (the operator, the bench, tests setting up data), or the
//     pair of a session the local STS issued for the role.
//   - A session's token must come with its key, and is refused once the session has expired (ExpiredToken).
//   - A session may do what its role's inline policies (from infra/aws-iam's template) allow, and nothing
//     else (AccessDenied, naming the action and resource as S3 does).
//   - A missing object answers 403, not 404, to a caller who may not list the bucket.
// Not modelled: bucket policies (the template's only one denies plain HTTP, which is all the local cloud
// speaks), KMS permissions, presigned URLs (refused), and the payload hash, which is forwarded unchecked.

export interface IamGateway {
  endpoint: string;
  close(): Promise<void>;
}

export interface IamGatewayOptions {
  /** The emulator's origin. */
  upstream: string;
  region: string;
  accountId: string;
  /** The emulator's own key pair: the account's administrator, allowed everything. */
  administrator: { accessKeyId: string; secretAccessKey: string };
  sessions: RoleSessions;
  roles: readonly IamRole[];
  port?: number;
  log: (entry: Record<string, unknown>) => void;
}

/** S3 refuses requests signed more than 15 minutes away from its clock. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024;

interface Caller {
  arn: string;
  /** Undefined for the administrator. */
  policies: IamRole['policies'] | undefined;
}

export async function startIamGateway(o: IamGatewayOptions): Promise<IamGateway> {
  const upstream = new URL(o.upstream);
  const policiesByRole = new Map(o.roles.map((role) => [role.arn, role.policies]));

  const authenticate = (request: IncomingMessage): Caller => {
    const header = request.headers.authorization;
    if (header === undefined) {
      const signedQuery = new URL(request.url ?? '/', 'http://local').searchParams.has('X-Amz-Signature');
      throw new S3AuthError('AccessDenied', 403, signedQuery ? 'Presigned URLs are not accepted by the local S3 gateway; sign the Authorization header' : 'Access Denied');
    }
    const auth = parseAuthorization(header);
    if (auth.service !== 's3') throw new S3AuthError('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; the service '${auth.service}' is wrong; expecting 's3'`);
    if (auth.region !== o.region) {
      throw new S3AuthError('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; the region '${auth.region}' is wrong; expecting '${o.region}'`);
    }
    const signedAt = amzDateToMs(String(request.headers['x-amz-date'] ?? ''));
    if (Number.isNaN(signedAt) || Math.abs(Date.now() - signedAt) > MAX_CLOCK_SKEW_MS) {
      throw new S3AuthError('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.');
    }
    const signed = { method: request.method ?? 'GET', rawUrl: request.url ?? '/', headers: request.headers };
    if (auth.accessKeyId === o.administrator.accessKeyId) {
      verifySignature(signed, auth, o.administrator.secretAccessKey);
      return { arn: `arn:aws:iam::${o.accountId}:root`, policies: undefined };
    }
    const session = o.sessions.find(auth.accessKeyId);
    if (!session) throw new S3AuthError('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.');
    if (request.headers['x-amz-security-token'] !== session.sessionToken) {
      throw new S3AuthError('InvalidToken', 400, 'The provided token is malformed or otherwise invalid.');
    }
    verifySignature(signed, auth, session.secretAccessKey);
    if (Date.now() >= session.expiration.getTime()) throw new S3AuthError('ExpiredToken', 400, 'The provided token has expired.');
    return { arn: session.assumedRoleArn, policies: policiesByRole.get(session.roleArn) ?? [] };
  };

  // Whether a bucket exists is public on S3 (404 NoSuchBucket to anyone, 403 only for a bucket that exists).
  const bucketExists = (bucket: string) =>
    new Promise<boolean>((resolve, reject) => {
      httpRequest({ host: upstream.hostname, port: upstream.port, method: 'HEAD', path: `/${encodeURIComponent(bucket)}` }, (response) => {
        response.resume();
        resolve(response.statusCode !== 404);
      })
        .on('error', reject)
        .end();
    });

  const authorize = async (caller: Caller, permissions: readonly RequiredPermission[], bucket: string | undefined): Promise<void> => {
    if (caller.policies === undefined) return;
    for (const permission of permissions) {
      const decision = evaluateIdentityPolicies(caller.policies, permission);
      if (!decision.allowed) {
        if (bucket !== undefined && !(await bucketExists(bucket))) throw new S3AuthError('NoSuchBucket', 404, 'The specified bucket does not exist');
        throw new S3AuthError(
          'AccessDenied',
          403,
          `User: ${caller.arn} is not authorized to perform: ${permission.action} on resource: "${permission.resource}" ${
            decision.explicitDeny ? `with an explicit deny in an identity-based policy (${decision.reason})` : `because ${decision.reason}`
          }`,
        );
      }
    }
  };

  const mayList = (caller: Caller, bucket: string): boolean =>
    caller.policies === undefined ||
    evaluateIdentityPolicies(caller.policies, { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: {} }).allowed;

  // With `Expect: 100-continue`, S3 checks the request before it asks for the body, and refuses without it.
  const handle = async (request: IncomingMessage, response: ServerResponse, expectsContinue: boolean): Promise<void> => {
    const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'local'}`);
    const method = request.method ?? 'GET';
    const caller = authenticate(request);
    const operation = s3Operation(method, url, request.headers);
    if (operation.permissions === undefined && caller.policies !== undefined) {
      throw new S3AuthError('AccessDenied', 403, `The local S3 gateway does not know which permission ${method} ${url.pathname}${url.search} needs, so it refuses it for ${caller.arn}`);
    }
    let body: Buffer | undefined;
    if (method === 'POST' && url.searchParams.has('delete') && operation.bucket !== undefined && caller.policies !== undefined) {
      // DeleteObjects names its keys in the body: it has to be read before it can be allowed.
      if (expectsContinue) response.writeContinue();
      body = await readRequestBody(request, MAX_DELETE_BODY_BYTES, () => new S3AuthError('MaxMessageLengthExceeded', 400, 'Your request was too big.'));
      await authorize(caller, deleteObjectsPermissions(operation.bucket, body.toString('utf8'), operation.context), operation.bucket);
    }
    await authorize(caller, operation.permissions ?? [], operation.bucket);
    const hideMissing = operation.readsObject && operation.bucket !== undefined && !mayList(caller, operation.bucket);
    if (expectsContinue && body === undefined) response.writeContinue();
    forward(request, response, { body, hideMissing });
  };

  const forward = (request: IncomingMessage, response: ServerResponse, f: { body: Buffer | undefined; hideMissing: boolean }) => {
    const outgoing = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (upstreamResponse) => {
        if (f.hideMissing && upstreamResponse.statusCode === 404) {
          upstreamResponse.resume();
          sendError(request, response, new S3AuthError('AccessDenied', 403, 'Access Denied'));
          return;
        }
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    outgoing.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`local-cloud S3 gateway: the S3 emulator failed: ${error.message}`);
    });
    if (f.body) outgoing.end(f.body);
    else request.pipe(outgoing);
  };

  const serve = (expectsContinue: boolean) => (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, expectsContinue).catch((error: unknown) => {
      const refusal = error instanceof S3AuthError ? error : new S3AuthError('InternalError', 500, `local S3 gateway: ${(error as Error).message}`);
      o.log({
        service: 's3',
        outcome: 'refused',
        code: refusal.code,
        method: request.method,
        path: new URL(request.url ?? '/', 'http://local').pathname,
        message: refusal.message,
      });
      if (expectsContinue) {
        // The client waits for 100 Continue before it sends the body: answer now, and end the connection.
        response.shouldKeepAlive = false;
        sendError(request, response, refusal);
        return;
      }
      // Drain the body first so the client reads the error rather than a reset while it uploads.
      request.resume();
      if (request.readableEnded) sendError(request, response, refusal);
      else request.once('end', () => sendError(request, response, refusal));
    });
  };
  const server = createServer(serve(false));
  server.on('checkContinue', serve(true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

function sendError(request: IncomingMessage, response: ServerResponse, error: S3AuthError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  const body =
    request.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message><RequestId>${requestId}</RequestId><HostId>local-cloud</HostId></Error>`;
  response.writeHead(error.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': requestId });
  response.end(body);
}
