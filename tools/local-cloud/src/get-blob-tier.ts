import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { BlobAnswer } from './blob-from-url/azure-error.js';
import { sharedKeyAuthorization } from './blob-from-url/shared-key.js';
import { blobPath } from './blob-path.js';
import { spelledHeaders } from './spelled-headers.js';

// Get Blob reports the blob's access tier (x-ms-access-tier, x-ms-access-tier-inferred,
// x-ms-access-tier-change-time) as Get Blob Properties does, from the service version the Azure SDK speaks
// (2026-10-06, whose Get Blob response declares them). Azurite 3.36 leaves them out of Get Blob, so a client
// would need a second request that Azure does not: the blob front answers such a Get Blob with Azurite's
// response and the tier headers of Azurite's Get Blob Properties (a plain signed HEAD, read beside the GET).

/** The first service version whose Get Blob response carries the tier headers, as far as the SDK's definition shows. */
export const GET_BLOB_TIER_VERSION = '2026-10-06';

/** Query parameters of requests on a blob path that are not Get Blob of the base blob. */
const NOT_BASE_GET_BLOB = ['comp', 'restype', 'snapshot', 'versionid'];

export interface AnswerGetBlobWithTierOptions {
  /** Azurite's origin. */
  upstream: URL;
  /** Signs the Get Blob Properties that reads the tier from Azurite (Shared Key). */
  accountName: string;
  accountKey: string;
}

const TIER_HEADERS = ['x-ms-access-tier', 'x-ms-access-tier-inferred', 'x-ms-access-tier-change-time'];

/** The tier headers of Azurite's Get Blob Properties for the blob at `path` (none when it fails). */
function tierHeadersOf(o: AnswerGetBlobWithTierOptions, path: string, version: string): Promise<Record<string, string>> {
  const headers: Record<string, string> = { 'x-ms-date': new Date().toUTCString(), 'x-ms-version': version };
  headers['authorization'] = sharedKeyAuthorization(o.accountName, o.accountKey, { method: 'HEAD', rawUrl: path, headers });
  return new Promise((resolve) => {
    const head = httpRequest({ host: o.upstream.hostname, port: o.upstream.port, method: 'HEAD', path, headers }, (answer) => {
      answer.resume();
      const found: Record<string, string> = {};
      if (answer.statusCode === 200) {
        for (const name of TIER_HEADERS) {
          const value = answer.headers[name];
          if (typeof value === 'string') found[name] = value;
        }
      }
      resolve(found);
    });
    head.on('error', () => resolve({}));
    head.end();
  });
}

/** The storage-events proxy's hook for Get Blob at a version that reports the tier; undefined for any other request. */
export function answerGetBlobWithTier(o: AnswerGetBlobWithTierOptions): (request: IncomingMessage) => Promise<BlobAnswer> | undefined {
  return (request) => {
    const version = request.headers['x-ms-version'];
    if (request.method !== 'GET' || typeof version !== 'string' || version < GET_BLOB_TIER_VERSION) return undefined;
    const url = new URL(request.url ?? '/', 'http://local');
    if (NOT_BASE_GET_BLOB.some((name) => url.searchParams.has(name)) || !blobPath(url)) return undefined;
    // Read beside the GET: a tier change does not change the blob's ETag, so no version ties the two.
    const tier = tierHeadersOf(o, url.pathname, version);
    return new Promise<BlobAnswer>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: o.upstream.hostname,
          port: o.upstream.port,
          method: 'GET',
          path: request.url,
          headers: spelledHeaders(request.headers, request.rawHeaders),
        },
        (answer) => {
          const status = answer.statusCode ?? 0;
          if (status !== 200 && status !== 206) {
            resolve(answer);
            return;
          }
          void tier.then((headers) => {
            // Get Blob as the version asked answers it, as Azure does (Azurite names the newest version it knows).
            Object.assign(answer.headers, headers, { 'x-ms-version': version });
            resolve(answer);
          });
        },
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
  };
}
