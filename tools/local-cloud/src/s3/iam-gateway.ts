import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../close-server.js';
import { readRequestBody } from '../request-body.js';
import { authenticate, type AuthenticateOptions, type Caller } from './gateway-authenticate.js';
import { authorize, mayList } from './gateway-authorize.js';
import { forward, sendError } from './gateway-forward.js';
import { deleteObjectsPermissions, s3Operation, type S3Operation } from './s3-permissions.js';
import { S3AuthError } from './sigv4.js';

// The S3 endpoint clients of the local cloud talk to: it authenticates each request and authorizes it as
// Amazon S3 would, then forwards it to the emulator, which checks neither.
//   - Signature Version 4 in the Authorization header, from a key pair it knows: the emulator's own pair,
//     standing for the account's administrator (the operator, the bench, tests setting up data), or the
//     pair of a session the local STS issued for the role.
//   - A session's token must come with its key, and is refused once the session has expired (ExpiredToken).
//   - A session may do what its role's inline policies (from infra/aws-iam's template) allow, and nothing
//     else (AccessDenied, naming the action and resource as S3 does).
//   - A missing object answers 403, not 404, to a caller who may not list the bucket.
//   - A presigned URL (Signature Version 4 in the query string) is checked the same way, and also refused past
//     its X-Amz-Expires (at most a week) and, for a session's keys, once the session has expired.
// Not modelled: bucket policies (the template's only one denies plain HTTP, which is all the local cloud
// speaks), KMS permissions, and the payload hash, which is forwarded unchecked.

export interface IamGateway {
  endpoint: string;
  close(): Promise<void>;
}

export interface IamGatewayOptions extends AuthenticateOptions {
  /** The emulator's origin. */
  upstream: string;
  port?: number;
  log: (entry: Record<string, unknown>) => void;
}

const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024;

export async function startIamGateway(options: IamGatewayOptions): Promise<IamGateway> {
  const upstream = new URL(options.upstream);
  const serve = (expectsContinue: boolean) => (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response, { gateway: options, upstream, expectsContinue }).catch((error: unknown) =>
      refuse(request, response, { error, expectsContinue, log: options.log }),
    );
  };
  const server = createServer(serve(false));
  server.on('checkContinue', serve(true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => closeServer(server),
  };
}

interface HandleOptions {
  gateway: IamGatewayOptions;
  upstream: URL;
  /** With `Expect: 100-continue`, S3 checks the request before it asks for the body, and refuses without it. */
  expectsContinue: boolean;
}

/** Authenticates the request, authorizes it as S3 would, and forwards it. */
async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  { gateway, upstream, expectsContinue }: HandleOptions,
): Promise<void> {
  const url = new URL(request.url ?? '/', `http://${request.headers.host ?? 'local'}`);
  const method = request.method ?? 'GET';
  const caller = authenticate(request, gateway);
  const operation = s3Operation(method, url, request.headers);
  if (operation.permissions === undefined && caller.policies !== undefined) {
    throw new S3AuthError(
      'AccessDenied',
      403,
      `The local S3 gateway does not know which permission ${method} ${url.pathname}${url.search} needs, so it refuses it for ${caller.arn}`,
    );
  }
  let body: Buffer | undefined;
  if (method === 'POST' && url.searchParams.has('delete') && operation.bucket !== undefined && caller.policies !== undefined) {
    if (expectsContinue) response.writeContinue();
    body = await authorizeDeletedKeys(request, { caller, bucket: operation.bucket, context: operation.context, upstream });
  }
  await authorize({ caller, permissions: operation.permissions ?? [], bucket: operation.bucket, upstream });
  const hideMissing = operation.readsObject && operation.bucket !== undefined && !mayList(caller, operation.bucket);
  if (expectsContinue && body === undefined) response.writeContinue();
  forward(request, response, { upstream, body, hideMissing, log: gateway.log });
}

interface AuthorizeDeletedKeysOptions {
  caller: Caller;
  bucket: string;
  /** The request's condition keys. */
  context: S3Operation['context'];
  upstream: URL;
}

/** DeleteObjects names its keys in the body: it has to be read before it can be allowed. Returns the body. */
async function authorizeDeletedKeys(
  request: IncomingMessage,
  { caller, bucket, context, upstream }: AuthorizeDeletedKeysOptions,
): Promise<Buffer> {
  const body = await readRequestBody(
    request,
    MAX_DELETE_BODY_BYTES,
    () => new S3AuthError('MaxMessageLengthExceeded', 400, 'Your request was too big.'),
  );
  await authorize({ caller, permissions: deleteObjectsPermissions(bucket, body.toString('utf8'), context), bucket, upstream });
  return body;
}

interface RefuseOptions {
  error: unknown;
  expectsContinue: boolean;
  log: IamGatewayOptions['log'];
}

/** Logs a refused request and answers with S3's error, once the client can read it. */
function refuse(request: IncomingMessage, response: ServerResponse, { error, expectsContinue, log }: RefuseOptions): void {
  const refusal =
    error instanceof S3AuthError ? error : new S3AuthError('InternalError', 500, `local S3 gateway: ${(error as Error).message}`);
  log({
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
}
