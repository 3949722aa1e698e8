import type { IncomingMessage } from 'node:http';
import type { BlobAnswer } from './azure-error.js';
import { fromUrlOperation, serveFromUrl, type FromUrlContext } from './from-url.js';

/** The storage-events proxy's hook: Put Block / Put Blob From URL answered by the blob front, anything else left to Azurite. */
export function answerFromUrl(context: FromUrlContext): (request: IncomingMessage) => Promise<BlobAnswer> | undefined {
  return (request) => {
    const operation = fromUrlOperation(request.method, new URL(request.url ?? '/', 'http://local'), request.headers);
    return operation ? serveFromUrl(operation, request, context) : undefined;
  };
}
