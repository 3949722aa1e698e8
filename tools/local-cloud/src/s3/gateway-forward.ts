import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { escapeXml } from '../xml-text.js';
import { S3AuthError } from './sigv4.js';

export interface ForwardOptions {
  /** The emulator's origin. */
  upstream: URL;
  /** The body when the gateway has already read it (DeleteObjects); otherwise the request streams through. */
  body: Buffer | undefined;
  /** Answer 403 for the emulator's 404, as S3 does to a caller who may not list the bucket. */
  hideMissing: boolean;
}

/** Sends an allowed request on to the emulator and its answer back to the client. */
export function forward(request: IncomingMessage, response: ServerResponse, { upstream, body, hideMissing }: ForwardOptions): void {
  const outgoing = httpRequest(
    { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
    (upstreamResponse) => {
      if (hideMissing && upstreamResponse.statusCode === 404) {
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
  if (body) outgoing.end(body);
  else request.pipe(outgoing);
}

/** Answers with S3's XML error document. */
export function sendError(request: IncomingMessage, response: ServerResponse, error: S3AuthError): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  const body =
    request.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}</Message><RequestId>${requestId}</RequestId><HostId>local-cloud</HostId></Error>`;
  response.writeHead(error.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
  });
  response.end(body);
}
