import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { endToEndHeaders } from '../hop-by-hop.js';
import { errorAnswer, UNAVAILABLE } from '../service-errors.js';
import { S3AuthError } from './sigv4.js';

// When the emulator behind the gateway fails, the client gets what S3 answers when its own back end fails,
// never the gateway's own words: 503 ServiceUnavailable in S3's XML when the emulator refuses or drops the
// connection before answering, S3's XML error for an emulator's 5xx that is not XML, and a cut connection
// when the emulator stops in the middle of a body.

export interface ForwardOptions {
  /** The emulator's origin. */
  upstream: URL;
  /** The body when the gateway has already read it (DeleteObjects); otherwise the request streams through. */
  body: Buffer | undefined;
  /** Answer 403 for the emulator's 404, as S3 does to a caller who may not list the bucket. */
  hideMissing: boolean;
  log: (entry: Record<string, unknown>) => void;
}

const unavailable = () => new S3AuthError(UNAVAILABLE.s3.code, 503, UNAVAILABLE.s3.message);

// moto keeps a PutObject's Content-MD5 and x-amz-content-sha256 request headers with the object and answers every
// GET and HEAD of it with them; S3 answers neither (GetObject's and HeadObject's response headers). A client that
// asks for checksums (`ChecksumMode: ENABLED`) would then hash every body it reads against a Content-MD5 that
// Amazon S3 never sends: the AWS SDK does.
const REQUEST_ONLY_HEADERS = new Set(['content-md5', 'x-amz-content-sha256']);

/** The emulator's answer headers as S3 would send them. */
function s3AnswerHeaders(headers: IncomingMessage['headers']): IncomingMessage['headers'] {
  const kept = endToEndHeaders(headers);
  for (const name of REQUEST_ONLY_HEADERS) delete kept[name];
  return kept;
}

/** Sends an allowed request on to the emulator and its answer back to the client. */
export function forward(request: IncomingMessage, response: ServerResponse, { upstream, body, hideMissing, log }: ForwardOptions): void {
  const outgoing = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: endToEndHeaders(request.headers) },
    (upstreamResponse) => {
      const status = upstreamResponse.statusCode ?? 502;
      if (hideMissing && status === 404) {
        upstreamResponse.resume();
        sendError(request, response, new S3AuthError('AccessDenied', 403, 'Access Denied'));
        return;
      }
      if (status >= 500 && !String(upstreamResponse.headers['content-type'] ?? '').includes('xml') && request.method !== 'HEAD') {
        upstreamResponse.resume();
        log({ service: 's3', outcome: 'emulator-error', status, method: request.method, path: request.url });
        sendError(
          request,
          response,
          status === 503 ? unavailable() : new S3AuthError('InternalError', 500, 'We encountered an internal error. Please try again.'),
        );
        return;
      }
      response.writeHead(status, s3AnswerHeaders(upstreamResponse.headers));
      upstreamResponse.pipe(response);
      // An emulator that dies mid-body leaves the client a cut connection, as a dropped S3 connection does.
      upstreamResponse.once('close', () => {
        if (!upstreamResponse.complete) response.destroy();
      });
    },
  );
  outgoing.on('error', (error) => {
    log({ service: 's3', outcome: 'emulator-unreachable', method: request.method, path: request.url, error: error.message });
    if (response.headersSent) {
      response.destroy();
      return;
    }
    // Let the client finish sending, so it reads the error rather than a reset while it uploads.
    request.unpipe(outgoing);
    request.resume();
    if (request.readableEnded) sendError(request, response, unavailable());
    else request.once('end', () => sendError(request, response, unavailable()));
  });
  if (body) outgoing.end(body);
  else request.pipe(outgoing);
}

/** Answers with S3's XML error document. */
export function sendError(request: IncomingMessage, response: ServerResponse, error: S3AuthError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const { status, headers, body } = errorAnswer('s3', {
    status: error.status,
    code: error.code,
    message: error.message,
    method: request.method,
  });
  response.writeHead(status, headers);
  response.end(body);
}
