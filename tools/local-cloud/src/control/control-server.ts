import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { closeServer } from '../close-server.js';
import type { LocalCloud } from '../local-cloud.js';
import { readRequestBody } from '../request-body.js';

// The running stack's control endpoint, on loopback, for `local-cloud outage` (a process of its own) to reach
// the fault proxies of a stack it did not start. Every request carries the random token the stack wrote into
// stack.json (readable by its owner only): `Authorization: Bearer <token>`.
//   GET    /outages            the outages in force
//   POST   /outages            {"service":"s3","mode":"refuse"|"unavailable","durationMs":240000}
//   DELETE /outages/<service>  ends that service's outage now

export interface ControlServer {
  endpoint: string;
  token: string;
  close(): Promise<void>;
}

const outageRequest = z.object({
  service: z.enum(['azure', 's3', 'sts']),
  mode: z.enum(['refuse', 'unavailable']),
  durationMs: z.number().int().positive(),
});

class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One JSON answer (Node sets its length, as it is written in one piece). */
const sendJson = (response: ServerResponse, status: number, body: unknown) =>
  void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

function authorized(request: IncomingMessage, token: string): boolean {
  const given = Buffer.from(String(request.headers.authorization ?? ''));
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startControlServer(o: {
  faults: NonNullable<LocalCloud['faults']>;
  port: number;
  log: (entry: Record<string, unknown>) => void;
}): Promise<ControlServer> {
  const token = randomBytes(32).toString('base64url');

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!authorized(request, token)) throw new ControlError(401, 'the control endpoint needs the token from stack.json');
    const path = new URL(request.url ?? '/', 'http://control').pathname;
    if (path === '/outages' && request.method === 'GET') return sendJson(response, 200, o.faults.outages());
    if (path === '/outages' && request.method === 'POST') {
      const body = await readRequestBody(request, 64 * 1024, () => new ControlError(413, 'request too large'));
      let parsed;
      try {
        parsed = outageRequest.parse(JSON.parse(body.toString('utf8')));
      } catch (error) {
        throw new ControlError(
          400,
          `expected {"service":"azure|s3|sts","mode":"refuse|unavailable","durationMs":<positive>}: ${(error as Error).message}`,
        );
      }
      const { service, ...outage } = parsed;
      return sendJson(response, 200, await o.faults.outage(service, outage));
    }
    const ending = /^\/outages\/(azure|s3|sts)$/.exec(path);
    if (ending && request.method === 'DELETE') {
      await o.faults.endOutage(ending[1] as 'azure' | 's3' | 'sts');
      response.writeHead(204).end();
      return;
    }
    throw new ControlError(404, `nothing at ${request.method} ${path}`);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const status = error instanceof ControlError ? error.status : 500;
      o.log({
        level: 'warn',
        msg: 'control request refused',
        method: request.method,
        path: request.url,
        status,
        error: (error as Error).message,
      });
      if (!response.headersSent) sendJson(response, status, { error: (error as Error).message });
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    token,
    close: () => closeServer(server),
  };
}
