import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { escapeXml } from '../xml-text.js';

/** What the storage-events proxy relays to the client: Azurite's answer, or one the blob front makes itself. */
export interface BlobAnswer extends NodeJS.ReadableStream {
  statusCode?: number | undefined;
  headers: Record<string, string | string[] | undefined>;
}

/** An error Azure Storage answers with: its status, its error code, and extra XML elements it names. */
export class AzureStorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AzureStorageError';
  }
}

/** Azure Storage's error answer (`x-ms-error-code` and the XML `<Error>` body), as a BlobAnswer. */
export function errorAnswer(error: AzureStorageError): BlobAnswer {
  const requestId = randomUUID();
  const details = Object.entries(error.details)
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join('');
  const body =
    `<?xml version="1.0" encoding="utf-8"?><Error><Code>${error.code}</Code><Message>${escapeXml(error.message)}\n` +
    `RequestId:${requestId}\nTime:${new Date().toISOString()}</Message>${details}</Error>`;
  const answer = new PassThrough() as PassThrough & BlobAnswer;
  answer.statusCode = error.status;
  answer.headers = {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(body)),
    'x-ms-error-code': error.code,
    'x-ms-request-id': requestId,
    'x-ms-version': '2025-11-05',
    ...error.headers,
  };
  answer.end(body);
  return answer;
}
