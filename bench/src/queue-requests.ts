import type { Stack } from '@blobferry/local-cloud';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

// Requests to the queue service, counted at the HTTP level: a reverse proxy in front of Azurite's queue
// endpoint, which the stack handed to the CLI and the Functions host names instead of Azurite's. What a
// backfill costs the queue per blob (puts, gets, deletes, lease renewals, the host's polls of an empty
// queue), however the SDKs batch or retry. The bench's own reads of the queue's length go to Azurite directly.

export interface QueueRequestCounts {
  /** Put Message: POST .../messages */
  put: number;
  /** Get Messages: GET .../messages (empty answers included: the host's polls) */
  get: number;
  /** Delete Message */
  delete: number;
  /** Update Message: the host's lease renewals */
  update: number;
  /** Anything else (queue metadata, peeks, creates) */
  other: number;
}

export interface QueueRequestCounter {
  /** The stack with its queue endpoint (in the connection string too) pointing at the counter. */
  stack: Stack;
  /** The counts since the last `reset`. */
  counts(): QueueRequestCounts;
  reset(): void;
  close(): Promise<void>;
}

const zero = (): QueueRequestCounts => ({ put: 0, get: 0, delete: 0, update: 0, other: 0 });

function kindOf(request: IncomingMessage): keyof QueueRequestCounts {
  const url = new URL(request.url ?? '/', 'http://counter');
  const messages = /\/messages(\/[^/]+)?$/.exec(url.pathname);
  if (!messages || url.searchParams.get('peekonly') === 'true') return 'other';
  if (request.method === 'POST') return 'put';
  if (request.method === 'GET') return 'get';
  if (request.method === 'DELETE' && messages[1]) return 'delete';
  if (request.method === 'PUT' && messages[1]) return 'update';
  return 'other';
}

export async function startQueueRequestCounter(stack: Stack): Promise<QueueRequestCounter> {
  const upstream = new URL(stack.azure.queueEndpoint);
  let counts = zero();
  const server = createServer((request, response) => {
    counts[kindOf(request)] += 1;
    // Shared Key signs the account and path, not the host: forwarded as sent.
    const forwarded = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}${upstream.pathname.replace(/\/$/, '')}`;
  return {
    stack: {
      ...stack,
      azure: {
        ...stack.azure,
        queueEndpoint: endpoint,
        connectionString: stack.azure.connectionString.replace(`QueueEndpoint=${stack.azure.queueEndpoint}`, `QueueEndpoint=${endpoint}`),
      },
    },
    counts: () => ({ ...counts }),
    reset: () => {
      counts = zero();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
