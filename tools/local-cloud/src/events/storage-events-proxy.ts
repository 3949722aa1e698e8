import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import type { BlobAnswer } from '../blob-from-url/azure-error.js';
import { blobPath } from '../blob-path.js';
import { closeServer } from '../close-server.js';
import { endToEndHeaders } from '../hop-by-hop.js';
import { errorAnswer, UNAVAILABLE } from '../service-errors.js';
import { spelledHeaders } from '../spelled-headers.js';
import type { BlobCreatedEventData, EventGridEvent } from '../types.js';
import { blobCreatedEvent, blobDeletedEvent, blobTierChangedEvent, createSequencer } from './blob-created-event.js';
import { completedInventoryRun, inventoryCompletedEvent } from './inventory-completed-event.js';

// Azure Storage raises its blob events itself, as part of the operation. Azurite does not, so this proxy
// stands in front of it (it *is* the blob endpoint clients use) and raises the event when an operation
// that Azure announces succeeds:
//   PutBlob (PUT with x-ms-blob-type), PutBlockList (PUT ?comp=blocklist), CopyBlob (PUT with
//   x-ms-copy-source) -> BlobCreated;  DeleteBlob (DELETE of a blob, not of its snapshots) -> BlobDeleted;
//   Set Blob Tier (PUT ?comp=tier on the base blob) that changes the tier -> BlobTierChanged;
//   an inventory run's `<rule>-manifest.checksum` created -> BlobInventoryPolicyCompleted too.
// Staging blocks, metadata, tags, properties, AppendBlock and PutPage raise nothing, as on Azure.
// Operations that raise events are forwarded one at a time per blob, so each blob's sequencers follow
// the order in which its versions were committed.

export type BlobApi = 'PutBlob' | 'PutBlockList' | 'CopyBlob' | 'DeleteBlob' | 'SetBlobTier';

export interface StorageEventsProxy {
  /** `http://127.0.0.1:PORT`: the account's blob endpoint is `${origin}/${account}`. */
  origin: string;
  /** Resolves once every operation that started so far has raised its event (or failed). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function announcedApi(request: IncomingMessage, url: URL): BlobApi | undefined {
  const comp = url.searchParams.get('comp');
  if (request.method === 'PUT') {
    if (comp === 'blocklist') return 'PutBlockList';
    if (comp === 'tier') return url.searchParams.has('snapshot') || url.searchParams.has('versionid') ? undefined : 'SetBlobTier';
    if (comp !== null) return undefined;
    if (request.headers['x-ms-blob-type'] !== undefined) return 'PutBlob';
    if (request.headers['x-ms-copy-source'] !== undefined) return 'CopyBlob';
    return undefined;
  }
  if (request.method === 'DELETE' && comp === null && !url.searchParams.has('snapshot') && !url.searchParams.has('versionid')) {
    return request.headers['x-ms-delete-snapshots'] === 'only' ? undefined : 'DeleteBlob';
  }
  return undefined;
}

type CreatedBlobProperties = Pick<BlobCreatedEventData, 'contentType' | 'contentLength' | 'blobType'>;

/** A blob as Azurite reports it: its properties, and its tier when one was set (not inferred from the account). */
type BlobState = CreatedBlobProperties & { etag?: string; explicitTier?: string };

/** `hot` -> `Hot`: tiers as Azure names them in events, however the request spelled them. */
function tierName(header: string | string[] | undefined): string | undefined {
  const tier = stringHeader(header);
  return tier && `${tier.charAt(0).toUpperCase()}${tier.slice(1).toLowerCase()}`;
}

/** Where a Put Blob request says how long the new blob is, by the blob type it creates. */
const PUT_BLOB_LENGTH: Record<BlobCreatedEventData['blobType'], (headers: IncomingHttpHeaders) => string | undefined> = {
  BlockBlob: (headers) => headers['content-length'],
  PageBlob: (headers) => stringHeader(headers['x-ms-blob-content-length']),
  AppendBlob: () => '0',
};

function stringHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * What a successful Put Blob committed, from its own request (Azure's Put Blob rules): the type it names,
 * the content type from x-ms-blob-content-type, else Content-Type, else application/octet-stream, and the
 * length of the body (a block blob), x-ms-blob-content-length (a page blob) or 0 (a new append blob).
 * PutBlockList and CopyBlob do not say their length, so their properties are read back from Azurite.
 */
export function putBlobProperties(headers: IncomingHttpHeaders): CreatedBlobProperties | undefined {
  // Put Blob From URL's request has no body: its properties come from the source.
  if (headers['x-ms-copy-source'] !== undefined) return undefined;
  const blobType = stringHeader(headers['x-ms-blob-type']);
  if (blobType === undefined || !Object.hasOwn(PUT_BLOB_LENGTH, blobType)) return undefined;
  const type = blobType as BlobCreatedEventData['blobType'];
  const contentLength = Number(PUT_BLOB_LENGTH[type](headers) ?? Number.NaN);
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) return undefined;
  const contentType =
    stringHeader(headers['x-ms-blob-content-type']) ?? stringHeader(headers['content-type']) ?? 'application/octet-stream';
  return { blobType: type, contentLength, contentType };
}

export interface StartStorageEventsProxyOptions {
  /** Azurite's origin, `http://127.0.0.1:PORT`. */
  upstream: string;
  /** 0 picks a free port. */
  port: number;
  accountName: string;
  /** Signs the property look-ups made for BlobCreated's contentLength and contentType (PutBlockList, CopyBlob). */
  upstreamConnectionString: string;
  /** The blob endpoint clients see (goes into `data.url`). */
  publicBlobEndpoint: () => string;
  raise: (event: EventGridEvent) => void;
  log: (entry: Record<string, unknown>) => void;
  /** Answers in Azurite's place what it lacks or answers short (Put Block / Put Blob From URL, Get Blob's tier); undefined for the rest. */
  answerInstead?: (request: IncomingMessage) => Promise<BlobAnswer> | undefined;
}

export async function startStorageEventsProxy(o: StartStorageEventsProxyOptions): Promise<StorageEventsProxy> {
  const upstream = new URL(o.upstream);
  const service = BlobServiceClient.fromConnectionString(o.upstreamConnectionString);
  const nextSequencer = createSequencer();
  /** Per blob, the tail of the chain of announced operations. */
  const tails = new Map<string, Promise<void>>();

  function serialized(key: string, work: () => Promise<void>): void {
    const previous = tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    tails.set(key, next);
    void next.finally(() => {
      if (tails.get(key) === next) tails.delete(key);
    });
  }
  const idle = async () => {
    while (tails.size > 0) await Promise.allSettled([...tails.values()]);
  };

  async function announce(
    api: BlobApi,
    blob: { container: string; blobName: string },
    exchange: { request: IncomingMessage; response: BlobAnswer; before: BlobState | undefined },
  ) {
    const { request, response } = exchange;
    const common = {
      accountName: o.accountName,
      blobEndpoint: o.publicBlobEndpoint(),
      container: blob.container,
      blobName: blob.blobName,
      sequencer: nextSequencer(),
      clientRequestId: String(request.headers['x-ms-client-request-id'] ?? ''),
      requestId: String(response.headers['x-ms-request-id'] ?? ''),
    };
    if (api === 'DeleteBlob') {
      o.raise(blobDeletedEvent({ ...common, contentType: 'application/octet-stream', blobType: 'BlockBlob' }));
      return;
    }
    if (api === 'SetBlobTier') {
      const accessTier = tierName(request.headers['x-ms-access-tier']);
      const { before } = exchange;
      // Setting the tier a blob already has explicitly changes nothing, and announces nothing.
      if (!before || !accessTier || before.explicitTier === accessTier) return;
      const { contentType, contentLength, blobType, explicitTier } = before;
      o.raise(blobTierChangedEvent({ ...common, contentType, contentLength, blobType, accessTier, previousTier: explicitTier }));
      return;
    }
    const { etag, ...properties }: BlobState =
      (api === 'PutBlob' ? putBlobProperties(request.headers) : undefined) ?? (await readState(blob));
    o.raise(
      blobCreatedEvent({
        ...common,
        api,
        eTag: String(response.headers.etag ?? etag ?? ''),
        contentType: properties.contentType,
        contentLength: properties.contentLength,
        blobType: properties.blobType,
      }),
    );
    const run = completedInventoryRun(blob.container, blob.blobName);
    if (run)
      o.raise(inventoryCompletedEvent({ accountName: o.accountName, blobEndpoint: common.blobEndpoint, container: blob.container, run }));
  }

  /** Read under the per-blob lock, so these are the properties of the version this operation committed (or found). */
  async function readState(blob: { container: string; blobName: string }): Promise<BlobState> {
    const properties = await service.getContainerClient(blob.container).getBlobClient(blob.blobName).getProperties();
    return {
      ...(properties.etag ? { etag: properties.etag } : {}),
      contentType: properties.contentType ?? 'application/octet-stream',
      contentLength: properties.contentLength ?? 0,
      blobType: properties.blobType ?? 'BlockBlob',
      ...(properties.accessTier && !properties.accessTierInferred ? { explicitTier: properties.accessTier } : {}),
    };
  }

  function forward(
    request: IncomingMessage,
    response: ServerResponse,
    onResponse?: (upstreamResponse: BlobAnswer) => Promise<void>,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const relay = (upstreamResponse: BlobAnswer) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, endToEndHeaders(upstreamResponse.headers));
        upstreamResponse.pipe(response);
        upstreamResponse.once('end', () => {
          const after = onResponse?.(upstreamResponse) ?? Promise.resolve();
          void after
            .catch((error: unknown) =>
              o.log({ level: 'warn', msg: 'could not raise the storage event', path: request.url, error: (error as Error).message }),
            )
            .finally(resolve);
        });
        upstreamResponse.once('error', () => {
          response.destroy();
          resolve();
        });
      };
      // Azurite unreachable: the client gets what Azure Storage answers when it cannot serve (503 ServerBusy).
      const fail = (error: Error) => {
        o.log({ level: 'warn', msg: 'Azurite failed', path: request.url, error: error.message });
        if (response.headersSent) response.destroy();
        else {
          const { status, headers, body } = errorAnswer('azure', { status: 503, ...UNAVAILABLE.azure, method: request.method });
          response.writeHead(status, headers).end(body);
        }
        resolve();
      };
      const instead = o.answerInstead?.(request);
      if (instead) {
        instead.then(relay, fail);
        return;
      }
      const outgoing = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: request.url,
          headers: spelledHeaders(request.headers, request.rawHeaders),
        },
        relay,
      );
      outgoing.on('error', fail);
      request.pipe(outgoing);
    });
  }

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://proxy');
    const api = announcedApi(request, url);
    const blob = api ? blobPath(url) : undefined;
    if (!api || !blob) {
      void forward(request, response);
      return;
    }
    serialized(`${blob.container}/${blob.blobName}`, async () => {
      // Set Blob Tier announces the tier it replaced: read it first, under the same per-blob lock.
      const before = api === 'SetBlobTier' ? await readState(blob).catch(() => undefined) : undefined;
      await forward(request, response, async (upstreamResponse) => {
        const status = upstreamResponse.statusCode ?? 0;
        if (status >= 200 && status < 300) await announce(api, blob, { request, response: upstreamResponse, before });
      });
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, idle, close: () => closeServer(server) };
}
