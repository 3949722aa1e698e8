import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from './close-server.js';

// A reverse proxy in front of one emulator that fails chosen requests on demand, so tests can prove
// retries and resumption against real SDKs. It forwards the client's Host header unchanged: S3 SigV4
// signs the host the client talked to, so rewriting it would break every signature.

export type FaultService = 'azure' | 's3';

export interface FaultRule {
  service: FaultService;
  /** HTTP method to match (`GET`, `PUT`, ...); any when omitted. */
  method?: string;
  pathIncludes?: string;
  queryIncludes?: string;
  /** Status answered instead of forwarding (ignored with `afterBytes`). */
  status: number;
  /** How many matching requests fail; 1 by default. */
  times?: number;
  /** Forward the request, then cut the connection after this many response-body bytes (a dropped download). */
  afterBytes?: number;
  /**
   * Forward the request, pacing response bodies to this rate (a slow link), shared by every request the
   * rule matches, so parallel range reads do not multiply it; `status` is ignored.
   */
  bytesPerSecond?: number;
}

/** Body bytes that passed the proxy, per service, since it started: what each cloud really served or took. */
export interface Traffic {
  requests: number;
  /** Request bodies sent upstream (uploads). */
  requestBytes: number;
  /** Response bodies sent back (downloads). */
  responseBytes: number;
}

interface ArmedRule extends FaultRule {
  remaining: number;
  /** With bytesPerSecond: when the link is free again (ms since the epoch). */
  linkFreeAt: number;
}

export interface FaultProxy {
  endpoint: string;
  close(): Promise<void>;
}

function errorBody(service: FaultService, status: number): { contentType: string; body: string } {
  if (service === 's3') {
    const code = status === 503 ? 'SlowDown' : status >= 500 ? 'InternalError' : 'InvalidRequest';
    return {
      contentType: 'application/xml',
      body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>Injected by local-cloud fault proxy</Message><RequestId>local-cloud-fault</RequestId></Error>`,
    };
  }
  const code = status === 503 ? 'ServerBusy' : status >= 500 ? 'InternalError' : 'InvalidInput';
  return {
    contentType: 'application/xml',
    body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>Injected by local-cloud fault proxy</Message></Error>`,
  };
}

export class FaultRules {
  private readonly rules: ArmedRule[] = [];
  private readonly counters: Record<FaultService, Traffic> = {
    azure: { requests: 0, requestBytes: 0, responseBytes: 0 },
    s3: { requests: 0, requestBytes: 0, responseBytes: 0 },
  };

  traffic(service: FaultService): Traffic {
    return { ...this.counters[service] };
  }

  count(service: FaultService, field: keyof Traffic, amount: number): void {
    this.counters[service][field] += amount;
  }

  failNext(rule: FaultRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? 1, linkFreeAt: 0 });
  }

  /** Takes (consumes one use of) the first rule matching the request. */
  take(service: FaultService, request: IncomingMessage): ArmedRule | undefined {
    const url = new URL(request.url ?? '/', 'http://proxy');
    const index = this.rules.findIndex(
      (rule) =>
        rule.service === service &&
        (rule.method === undefined || rule.method.toUpperCase() === request.method) &&
        (rule.pathIncludes === undefined ||
          decodeURIComponent(url.pathname).includes(rule.pathIncludes) ||
          url.pathname.includes(rule.pathIncludes)) &&
        (rule.queryIncludes === undefined || url.search.includes(rule.queryIncludes)),
    );
    const rule = this.rules[index];
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules.splice(index, 1);
    return rule;
  }
}

export interface StartFaultProxyOptions {
  service: FaultService;
  upstream: string;
  rules: FaultRules;
  log: (entry: Record<string, unknown>) => void;
}

export async function startFaultProxy(o: StartFaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(o.upstream);
  const forward = (request: IncomingMessage, response: ServerResponse, rule?: ArmedRule) => {
    o.rules.count(o.service, 'requests', 1);
    request.on('data', (chunk: Buffer) => o.rules.count(o.service, 'requestBytes', chunk.length));
    const outgoing = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.on('data', (chunk: Buffer) => o.rules.count(o.service, 'responseBytes', chunk.length));
        if (rule?.bytesPerSecond !== undefined) {
          const rate = rule.bytesPerSecond;
          // Each chunk books the shared link for its length; the upstream pauses until its slot is over.
          upstreamResponse.on('data', (chunk: Buffer) => {
            response.write(chunk);
            const start = Math.max(Date.now(), rule.linkFreeAt);
            rule.linkFreeAt = start + (chunk.length / rate) * 1000;
            const waitMs = rule.linkFreeAt - Date.now();
            if (waitMs > 0) {
              upstreamResponse.pause();
              setTimeout(() => upstreamResponse.resume(), waitMs);
            }
          });
          upstreamResponse.on('end', () => response.end());
          response.on('close', () => upstreamResponse.destroy());
          return;
        }
        const cutAfterBytes = rule?.afterBytes;
        if (cutAfterBytes === undefined) {
          upstreamResponse.pipe(response);
          return;
        }
        let sent = 0;
        upstreamResponse.on('data', (chunk: Buffer) => {
          if (sent >= cutAfterBytes) return;
          const room = cutAfterBytes - sent;
          sent += chunk.length;
          if (sent < cutAfterBytes) {
            response.write(chunk);
            return;
          }
          // Flush the bytes we promised, then drop the connection mid-body.
          upstreamResponse.destroy();
          response.write(chunk.subarray(0, room), () => response.destroy());
        });
        upstreamResponse.on('end', () => response.end());
      },
    );
    outgoing.on('error', (error) => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end(`local-cloud fault proxy: upstream ${o.service} failed: ${error.message}`);
    });
    request.pipe(outgoing);
  };

  const server: Server = createServer((request, response) => {
    const rule = o.rules.take(o.service, request);
    if (!rule) return forward(request, response);
    o.log({
      msg: 'fault injected',
      service: o.service,
      method: request.method,
      path: new URL(request.url ?? '/', 'http://proxy').pathname,
      status: rule.status,
      afterBytes: rule.afterBytes,
      bytesPerSecond: rule.bytesPerSecond,
    });
    if (rule.afterBytes !== undefined || rule.bytesPerSecond !== undefined) return forward(request, response, rule);
    // Drain the request body first so the client sees the error rather than a reset while uploading.
    request.resume();
    request.on('end', () => {
      const { contentType, body } = errorBody(o.service, rule.status);
      const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': Buffer.byteLength(body) };
      if (o.service === 'azure') headers['x-ms-error-code'] = rule.status === 503 ? 'ServerBusy' : 'InternalError';
      response.writeHead(rule.status, headers);
      response.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => closeServer(server),
  };
}
