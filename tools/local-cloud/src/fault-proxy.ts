import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { endToEndHeaders } from './hop-by-hop.js';
import { Outage } from './outage.js';
import { errorAnswer, UNAVAILABLE, type CloudService } from './service-errors.js';
import { spelledHeaders } from './spelled-headers.js';
import { switchableServer } from './switchable-server.js';

// A reverse proxy in front of one service's endpoint (the blob endpoint, S3, STS) that fails chosen requests
// on demand, or takes the whole endpoint down for a while (an outage), so tests and users can prove retries,
// resumption and recovery against real SDKs. It forwards the client's Host header unchanged: S3 SigV4 signs
// the host the client talked to, so rewriting it would break every signature.

export type FaultService = CloudService;

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
  /** Takes the endpoint down for a while: refusing connections, or answering 503. */
  outage: Outage;
  close(): Promise<void>;
}

/** The error code an injected status stands for, as each service names it. */
function injectedCode(service: FaultService, status: number): string {
  if (service === 's3') return status === 503 ? 'SlowDown' : status >= 500 ? 'InternalError' : 'InvalidRequest';
  if (service === 'sts') return status === 503 ? 'ServiceUnavailable' : status >= 500 ? 'InternalFailure' : 'InvalidParameterValue';
  return status === 503 ? 'ServerBusy' : status >= 500 ? 'InternalError' : 'InvalidInput';
}

export class FaultRules {
  private readonly rules: ArmedRule[] = [];
  private readonly counters: Record<FaultService, Traffic> = {
    azure: { requests: 0, requestBytes: 0, responseBytes: 0 },
    s3: { requests: 0, requestBytes: 0, responseBytes: 0 },
    sts: { requests: 0, requestBytes: 0, responseBytes: 0 },
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
  /** 0 (the default) picks a free port. */
  port?: number;
  log: (entry: Record<string, unknown>) => void;
}

/** Answers with the service's own error, once the client has sent its body (so it reads the error, not a reset). */
function answerError(
  service: FaultService,
  request: IncomingMessage,
  response: ServerResponse,
  error: { status: number; code: string; message: string },
) {
  request.resume();
  const send = () => {
    const { status, headers, body } = errorAnswer(service, { ...error, method: request.method });
    response.writeHead(status, headers);
    response.end(body);
  };
  if (request.readableEnded) send();
  else request.once('end', send);
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
        headers: spelledHeaders(request.headers, request.rawHeaders),
      },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, endToEndHeaders(upstreamResponse.headers));
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
      o.log({ level: 'warn', msg: 'the endpoint behind the fault proxy failed', service: o.service, error: error.message });
      if (response.headersSent) response.destroy();
      else {
        request.unpipe(outgoing);
        answerError(o.service, request, response, { status: 503, ...UNAVAILABLE[o.service] });
      }
    });
    request.pipe(outgoing);
  };

  const server: Server = createServer((request, response) => {
    if (outage.unavailable()) {
      answerError(o.service, request, response, { status: 503, ...UNAVAILABLE[o.service] });
      return;
    }
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
    answerError(o.service, request, response, {
      status: rule.status,
      code: injectedCode(o.service, rule.status),
      message: 'Injected by local-cloud fault proxy',
    });
  });
  const switchable = switchableServer(server, o.log);
  // Requests arrive only once the server listens, after the outage exists.
  const outage = new Outage({ service: o.service, server: switchable, log: o.log });
  const endpoint = await switchable.listen(o.port ?? 0);
  return {
    endpoint,
    outage,
    close: async () => {
      outage.dispose();
      await switchable.close();
    },
  };
}
