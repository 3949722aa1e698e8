import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Stack } from '@blobferry/local-cloud';
import type { ClientRequest } from 'node:http';
import { round } from './stats.js';

// Requests counted where they leave a process: Node's `http.client.request.start` diagnostics channel sees every
// request node:http sends (both SDKs' HTTP handlers use it), retries included, and the same classifier names the
// requests rclone logs (rclone.ts), so both tools' requests are counted alike.

/** One request as it went out: method, `host:port` and path with its query. */
export interface SentRequest {
  method: string;
  origin: string;
  path: string;
}

/** The `host:port` of each endpoint whose requests are told apart. */
export interface RequestEndpoints {
  /** The source account's blob endpoint: the swept container. */
  azureBlob: string;
  /** The account holding the sweep's state container (the Function's host storage). */
  azureState: string;
  azureQueue: string;
  s3: string;
}

/** `host:port` of an endpoint URL, as a request's Host header names it. */
export function originOf(url: string): string {
  return new URL(url).host;
}

/** The stack's endpoints, the state container's account found by its URL. */
export function stackEndpoints(stack: Stack, stateContainerUrl: string): RequestEndpoints {
  return {
    azureBlob: originOf(stack.azure.blobEndpoint),
    azureState: originOf(stateContainerUrl),
    azureQueue: originOf(stack.azure.queueEndpoint),
    s3: originOf(stack.aws.s3Endpoint),
  };
}

/** Azure Storage names an operation on a blob or container by `comp`; without it, by the method. */
function azureBlobOperation(method: string, query: URLSearchParams): string {
  return query.get('comp') ?? method.toLowerCase();
}

/** The queue's name and the operation on it (path-style: `/<account>/<queue>/messages[/<id>]`). */
function azureQueueOperation(method: string, path: string, query: URLSearchParams): string {
  const [, , queue = '?', messages, messageId] = path.split('/');
  if (messages !== 'messages') return `${queue} ${query.get('comp') ?? method.toLowerCase()}`;
  if (method === 'POST') return `${queue} send`;
  if (method === 'GET') return `${queue} ${query.get('peekonly') === 'true' ? 'peek' : 'receive'}`;
  if (method === 'DELETE') return `${queue} ${messageId ? 'delete' : 'clear'}`;
  return `${queue} ${method.toLowerCase()}`;
}

/**
 * S3 names an operation by its subresource (`?uploads`, `?tagging`); a GET of the bucket itself (path style:
 * `/<bucket>`) lists it (ListObjectsV2 with `?list-type=2`, V1 without); otherwise the method names it.
 */
function s3Operation(method: string, path: string, query: URLSearchParams): string {
  if (query.has('uploads')) return method === 'GET' ? 'list-uploads' : 'create-upload';
  if (query.has('tagging')) return `tagging-${method.toLowerCase()}`;
  const key = path.split('/').slice(2).join('/');
  if (method === 'GET' && key === '') return 'list';
  return method.toLowerCase();
}

/** The service and operation of a request, e.g. `azure-blob list`, `queue blob-sweep send`, `s3 head`. */
export function requestKind(request: SentRequest, endpoints: RequestEndpoints): string {
  const url = new URL(request.path, 'http://x');
  const method = request.method.toUpperCase();
  if (request.origin === endpoints.s3) return `s3 ${s3Operation(method, url.pathname, url.searchParams)}`;
  if (request.origin === endpoints.azureQueue) return `queue ${azureQueueOperation(method, url.pathname, url.searchParams)}`;
  if (request.origin === endpoints.azureBlob) return `azure-blob ${azureBlobOperation(method, url.searchParams)}`;
  if (request.origin === endpoints.azureState) return `azure-state ${azureBlobOperation(method, url.searchParams)}`;
  return `other ${request.origin}`;
}

/** Adds one request to `counts` under its kind. */
export function countRequest(counts: Record<string, number>, request: SentRequest, endpoints: RequestEndpoints): void {
  const kind = requestKind(request, endpoints);
  counts[kind] = (counts[kind] ?? 0) + 1;
}

export interface RequestCounter {
  /** Requests sent since the counter started, by kind. */
  counts(): Record<string, number>;
  stop(): void;
}

const REQUEST_START = 'http.client.request.start';

/** Counts every request this process sends through node:http from now until `stop`. */
export function countRequests(endpoints: RequestEndpoints): RequestCounter {
  const counts: Record<string, number> = {};
  const onRequest = (message: unknown) => {
    const { request } = message as { request: ClientRequest };
    const host = request.getHeader('host');
    countRequest(counts, { method: request.method, origin: typeof host === 'string' ? host : request.host, path: request.path }, endpoints);
  };
  subscribe(REQUEST_START, onRequest);
  return { counts: () => ({ ...counts }), stop: () => unsubscribe(REQUEST_START, onRequest) };
}

/** Each kind's requests over the blobs swept, and each service's (the kind's first word) together. */
export function requestsPerBlob(
  counts: Record<string, number>,
  blobs: number,
): { byService: Record<string, number>; byKind: Record<string, number> } {
  const byService: Record<string, number> = {};
  for (const [kind, count] of Object.entries(counts)) {
    const service = kind.split(' ')[0] ?? kind;
    byService[service] = (byService[service] ?? 0) + count;
  }
  const perBlob = (record: Record<string, number>) =>
    Object.fromEntries(Object.entries(record).map(([name, count]) => [name, round(count / blobs, 4)]));
  return { byService: perBlob(byService), byKind: perBlob(counts) };
}
