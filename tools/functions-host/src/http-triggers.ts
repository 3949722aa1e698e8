import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { azureFunctionsLibrary, type RegisteredFunction } from './functions-core.js';
import { triggerOf, type Invoker } from './invoker.js';

// HTTP triggers at `/api/<route>`, the way the Functions host serves them. Function keys are not checked:
// this host listens on loopback only.

const MAX_BODY_BYTES = 100 * 1024 * 1024;

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpProblem(413, `body larger than ${MAX_BODY_BYTES} bytes`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

export interface StartHttpTriggersOptions {
  functions: RegisteredFunction[];
  invoker: Invoker;
  port: number;
  log: (entry: Record<string, unknown>) => void;
}

export async function startHttpTriggers(o: StartHttpTriggersOptions): Promise<{ port: number; close(): Promise<void> }> {
  const { HttpRequest, HttpResponse } = azureFunctionsLibrary();
  const httpFunctions = o.functions.filter((fn) => triggerOf(fn)?.type === 'httpTrigger');

  async function handle(request: IncomingMessage, url: URL, response: ServerResponse): Promise<void> {
    if (!url.pathname.startsWith('/api/')) throw new HttpProblem(404, `nothing at ${url.pathname}: HTTP functions live at /api/<route>`);
    const route = url.pathname.slice('/api/'.length);
    const fn = httpFunctions.find((candidate) => (triggerOf(candidate)?.route ?? candidate.name) === route);
    if (!fn) throw new HttpProblem(404, `no HTTP function at /api/${route}`);
    const methods = triggerOf(fn)?.methods;
    if (methods && !methods.includes(request.method ?? 'GET')) throw new HttpProblem(405, `allowed: ${methods.join(', ')}`);
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await readBody(request);
    const httpRequest = new HttpRequest({
      method: request.method ?? 'GET',
      url: url.href,
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)])),
      ...(body ? { body: { bytes: body } } : {}),
    });
    const result = await o.invoker.invoke(fn, httpRequest, {});
    const init = result instanceof HttpResponse ? result : new HttpResponse((result ?? {}) as object);
    const payload = Buffer.from(await init.arrayBuffer());
    response.writeHead(init.status, Object.fromEntries(init.headers.entries()));
    response.end(payload);
  }

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    handle(request, url, response).catch((error: unknown) => {
      const status = error instanceof HttpProblem ? error.status : 500;
      const reason = error instanceof HttpProblem ? error.message : 'the host failed to run the function';
      o.log({
        source: 'host',
        level: status >= 500 ? 'error' : 'warning',
        path: url.pathname,
        status,
        reason,
        ...(status === 500 ? { error: String(error) } : {}),
      });
      if (!response.headersSent) sendJson(response, status, { error: reason });
      else response.end();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
