import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { installFunctionsCore, type RegisteredFunction } from './functions-core.js';

/**
 * A local stand-in for the Azure Functions host: it loads the app's entry module, captures what
 * it registers with `app.*`, and serves those functions over HTTP the way the real host does:
 * HTTP triggers at `/api/<route>`, Event Grid triggers at `/runtime/webhooks/eventgrid?functionName=`.
 * (Function keys are not checked: the host listens on loopback only.)
 */
export interface FunctionsHostOptions {
  /** Module that registers the functions; default: this app's src/index.ts. */
  appEntry?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Structured log sink: one object per line of function or host output. */
  log?: (entry: Record<string, unknown>) => void;
}

export interface FunctionsHost {
  /** `http://127.0.0.1:PORT` */
  baseUrl: string;
  /** The Event Grid webhook URL of a function, as a subscription would target it. */
  eventGridWebhookUrl(functionName: string): string;
  /** Loads the app (once); until then deliveries get 503 so Event Grid retries them. */
  loadApp(): Promise<string[]>;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024; // Event Grid never posts more than 1 MB per delivery
const APP_ENTRY = new URL('../src/index.ts', import.meta.url).href;

type InvocationContextModule = typeof import('@azure/functions');

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

function triggerOf(fn: RegisteredFunction) {
  return Object.values(fn.bindings).find((binding) => binding.direction === 'in' && binding.type.endsWith('Trigger'));
}

export async function startFunctionsHost(options: FunctionsHostOptions = {}): Promise<FunctionsHost> {
  const log = options.log ?? ((entry) => process.stdout.write(`${JSON.stringify(entry)}\n`));
  const core = installFunctionsCore();
  core.systemLog = (level, category, message) => log({ source: 'functions', level, category, message });
  let functionsLibrary: InvocationContextModule | undefined;
  let loading: Promise<string[]> | undefined;
  let loaded = false;

  function newContext(fn: RegisteredFunction, triggerMetadata: Record<string, unknown>) {
    if (!functionsLibrary) throw new HttpProblem(503, 'the app is not loaded yet');
    const invocationId = randomUUID();
    const trigger = triggerOf(fn);
    return new functionsLibrary.InvocationContext({
      invocationId,
      functionName: fn.name,
      triggerMetadata,
      ...(trigger ? { options: { trigger: { ...trigger, name: Object.keys(fn.bindings)[0] ?? 'trigger' } } } : {}),
      logHandler: (level, ...args) => {
        const message = format(...args);
        let fields: Record<string, unknown> = { message };
        // The app logs JSON objects; keep them structured instead of nesting a string.
        if (message.startsWith('{')) {
          try {
            fields = JSON.parse(message) as Record<string, unknown>;
          } catch {
            fields = { message };
          }
        }
        log({ level, functionName: fn.name, invocationId, ...fields });
      },
    });
  }

  function findFunction(name: string, triggerType: string): RegisteredFunction {
    if (!loaded) throw new HttpProblem(503, 'the app is not loaded yet');
    const fn = core.functions.get(name);
    if (!fn || triggerOf(fn)?.type !== triggerType) throw new HttpProblem(404, `no ${triggerType} function named ${JSON.stringify(name)}`);
    return fn;
  }

  async function handleEventGrid(request: IncomingMessage, url: URL, response: ServerResponse): Promise<void> {
    if (request.method !== 'POST') throw new HttpProblem(405, 'the Event Grid webhook accepts POST only');
    const fn = findFunction(url.searchParams.get('functionName') ?? '', 'eventGridTrigger');
    const text = (await readBody(request)).toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new HttpProblem(400, `the body is not JSON (${(error as Error).message}): Event Grid posts a JSON array of events`);
    }
    const events = Array.isArray(body) ? body : [body];
    const validation = events.find(
      (event) => (event as { eventType?: unknown } | null)?.eventType === 'Microsoft.EventGrid.SubscriptionValidationEvent',
    ) as { data?: { validationCode?: unknown } } | undefined;
    if (request.headers['aeg-event-type'] === 'SubscriptionValidation' || validation) {
      const validationCode = validation?.data?.validationCode;
      if (typeof validationCode !== 'string') throw new HttpProblem(400, 'SubscriptionValidation without data.validationCode');
      sendJson(response, 200, { validationResponse: validationCode });
      return;
    }
    // Like the real host: every event is one invocation; any failure fails the delivery, so
    // Event Grid retries the batch (handlers must be, and are, idempotent).
    const failures: string[] = [];
    await Promise.all(
      events.map(async (event: unknown) => {
        const context = newContext(fn, { data: event });
        try {
          await fn.handler(event, context);
        } catch (error) {
          failures.push(`${context.invocationId}: ${(error as Error)?.name ?? 'Error'}`);
        }
      }),
    );
    if (failures.length > 0) sendJson(response, 500, { error: 'function invocation failed', invocations: failures });
    else sendJson(response, 200, { invocations: events.length });
  }

  async function handleHttpTrigger(request: IncomingMessage, url: URL, response: ServerResponse): Promise<void> {
    const route = url.pathname.slice('/api/'.length);
    const fn = [...core.functions.values()].find((candidate) => {
      const trigger = triggerOf(candidate);
      return trigger?.type === 'httpTrigger' && (trigger.route ?? candidate.name) === route;
    });
    if (!loaded || !functionsLibrary) throw new HttpProblem(503, 'the app is not loaded yet');
    if (!fn) throw new HttpProblem(404, `no HTTP function at /api/${route}`);
    const methods = triggerOf(fn)?.methods;
    if (methods && !methods.includes(request.method ?? 'GET')) throw new HttpProblem(405, `allowed: ${methods.join(', ')}`);
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await readBody(request);
    const httpRequest = new functionsLibrary.HttpRequest({
      method: request.method ?? 'GET',
      url: url.href,
      headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)])),
      ...(body ? { body: { bytes: body } } : {}),
    });
    const result = await fn.handler(httpRequest, newContext(fn, {}));
    const init = result instanceof functionsLibrary.HttpResponse ? result : new functionsLibrary.HttpResponse((result ?? {}) as object);
    const payload = Buffer.from(await init.arrayBuffer());
    response.writeHead(init.status, Object.fromEntries(init.headers.entries()));
    response.end(payload);
  }

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname === '/runtime/webhooks/eventgrid' ? handleEventGrid : url.pathname.startsWith('/api/') ? handleHttpTrigger : undefined;
    const handled = route
      ? route(request, url, response)
      : Promise.reject(new HttpProblem(404, `nothing at ${url.pathname}: try /api/<route> or /runtime/webhooks/eventgrid`));
    handled.catch((error: unknown) => {
      const status = error instanceof HttpProblem ? error.status : 500;
      const reason = error instanceof HttpProblem ? error.message : 'the host failed to run the function';
      log({ source: 'host', level: status >= 500 ? 'error' : 'warning', path: url.pathname, status, reason, ...(status === 500 ? { error: String(error) } : {}) });
      if (!response.headersSent) sendJson(response, status, { error: reason });
      else response.end();
    });
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    eventGridWebhookUrl: (functionName) => `${baseUrl}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(functionName)}`,
    loadApp() {
      loading ??= (async () => {
        functionsLibrary = await import('@azure/functions');
        const entry = options.appEntry ? pathToFileURL(options.appEntry).href : APP_ENTRY;
        await import(entry);
        loaded = true;
        return [...core.functions.keys()];
      })();
      return loading;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
