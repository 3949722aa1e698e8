import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64NvmeJs } from '@aws-sdk/checksums/crc';
import { AzureStorageError, errorAnswer, type BlobAnswer } from './azure-error.js';
import { hasValidSharedKey, sharedKeyAuthorization } from './shared-key.js';
import { spelledHeaders } from '../spelled-headers.js';

// Put Block From URL and Put Blob From URL, which Azurite 3.36 answers 501 NotImplemented. Azure reads the source
// URL itself (any HTTP(S) URL: a presigned S3 URL here) and writes what it read as a block or as a whole block
// blob, so the caller's bytes never pass through the caller. The blob front does the same: it checks the request
// as Azure does, fetches the source, checks the source checksums the caller gave, and writes the bytes to Azurite
// as a plain Put Block / Put Blob, signed with the account key. The bytes are held (in memory when small, else in
// a temporary file) until they are checked, so a mismatch never reaches Azurite: Azure commits nothing then either.

/** Azure's limits: a Put Blob From URL source up to 5,000 MiB; a block up to 4,000 MiB (100 MiB before 2019-12-12). */
export const MAX_PUT_BLOB_FROM_URL_BYTES = 5000 * 1024 * 1024;
export const MAX_BLOCK_BYTES = 4000 * 1024 * 1024;
export const MAX_BLOCK_BYTES_BEFORE_2019_12_12 = 100 * 1024 * 1024;
/** x-ms-copy-source may be a URL of up to 2 KiB. */
export const MAX_COPY_SOURCE_CHARACTERS = 2048;
/** Sources up to this size are held in memory while checked; larger ones go to a temporary file. */
const IN_MEMORY_BYTES = 16 * 1024 * 1024;

export type FromUrlOperation = 'PutBlockFromURL' | 'PutBlobFromURL';

/** Which From-URL operation a request is, if any. */
export function fromUrlOperation(method: string | undefined, url: URL, headers: IncomingHttpHeaders): FromUrlOperation | undefined {
  if (method !== 'PUT' || headers['x-ms-copy-source'] === undefined) return undefined;
  const comp = url.searchParams.get('comp');
  if (comp === 'block') return 'PutBlockFromURL';
  if (comp === null && headers['x-ms-blob-type'] !== undefined) return 'PutBlobFromURL';
  return undefined;
}

export interface FromUrlContext {
  accountName: string;
  accountKey: string;
  /** Azurite's origin. */
  upstream: URL;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const invalidHeader = (name: string, value: string, message = 'The value for one of the HTTP headers is not in the correct format.') =>
  new AzureStorageError(400, 'InvalidHeaderValue', message, { HeaderName: name, HeaderValue: value });

/** Answers a From-URL request: Azurite's answer to the plain write, or Azure's error. Never throws. */
export async function serveFromUrl(operation: FromUrlOperation, request: IncomingMessage, context: FromUrlContext): Promise<BlobAnswer> {
  request.resume();
  try {
    return await writeFromUrl(operation, request, context);
  } catch (error) {
    if (error instanceof AzureStorageError) return errorAnswer(error);
    return errorAnswer(new AzureStorageError(500, 'InternalError', `local-cloud blob front: ${(error as Error).message}`));
  }
}

async function writeFromUrl(operation: FromUrlOperation, request: IncomingMessage, context: FromUrlContext): Promise<BlobAnswer> {
  const { headers } = request;
  const rawUrl = request.url ?? '/';
  if (!hasValidSharedKey(context.accountName, context.accountKey, { method: 'PUT', rawUrl, headers })) {
    throw new AzureStorageError(
      403,
      'AuthenticationFailed',
      'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
    );
  }
  const version = header(headers, 'x-ms-version') ?? '';
  const minimumVersion = operation === 'PutBlobFromURL' ? '2020-04-08' : '2018-03-28';
  if (version < minimumVersion) throw invalidHeader('x-ms-version', version, `${operation} needs x-ms-version ${minimumVersion} or later.`);
  const contentLength = header(headers, 'content-length') ?? '0';
  if (contentLength !== '0')
    throw invalidHeader('Content-Length', contentLength, 'Content-Length must be 0: the content is read from x-ms-copy-source.');
  if (operation === 'PutBlobFromURL' && header(headers, 'x-ms-blob-type') !== 'BlockBlob') {
    throw invalidHeader('x-ms-blob-type', header(headers, 'x-ms-blob-type') ?? '', 'Put Blob From URL creates block blobs only.');
  }
  const source = header(headers, 'x-ms-copy-source') ?? '';
  if (source.length > MAX_COPY_SOURCE_CHARACTERS) {
    throw invalidHeader(
      'x-ms-copy-source',
      `${source.slice(0, 64)}...`,
      `x-ms-copy-source may be at most ${MAX_COPY_SOURCE_CHARACTERS} characters long.`,
    );
  }
  const expectedMd5 = header(headers, 'x-ms-source-content-md5');
  const expectedCrc64 = header(headers, 'x-ms-source-content-crc64');
  if (expectedMd5 !== undefined && expectedCrc64 !== undefined) {
    throw invalidHeader(
      'x-ms-source-content-crc64',
      expectedCrc64,
      'x-ms-source-content-md5 and x-ms-source-content-crc64 cannot both be given.',
    );
  }
  const range = operation === 'PutBlockFromURL' ? header(headers, 'x-ms-source-range') : undefined;
  const maxBytes =
    operation === 'PutBlobFromURL'
      ? MAX_PUT_BLOB_FROM_URL_BYTES
      : version < '2019-12-12'
        ? MAX_BLOCK_BYTES_BEFORE_2019_12_12
        : MAX_BLOCK_BYTES;

  const fetched = await fetchSource(source, range);
  // Azure reports a block's CRC64; a whole blob's only when asked to check one.
  const crc64Wanted = operation === 'PutBlockFromURL' || expectedCrc64 !== undefined;
  const held = await holdChecked(fetched, { maxBytes, expectedMd5, expectedCrc64, crc64Wanted });
  try {
    const answer = await writeUpstream(operation, request, context, { fetched, held });
    if (operation === 'PutBlockFromURL' && (answer.statusCode ?? 0) < 300) {
      // Azure reports the block's CRC64, or echoes the MD5 it checked.
      if (expectedMd5 !== undefined) answer.headers['content-md5'] = expectedMd5;
      else {
        delete answer.headers['content-md5'];
        answer.headers['x-ms-content-crc64'] = held.crc64Base64;
      }
    }
    return answer;
  } finally {
    await held.release();
  }
}

interface FetchedSource {
  response: IncomingMessage;
  length: number;
}

/** GETs the source (ranged when asked); a source that refuses is Azure's CannotVerifyCopySource with the source's status. */
async function fetchSource(source: string, range: string | undefined): Promise<FetchedSource> {
  let url: URL;
  try {
    url = new URL(source);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw invalidHeader('x-ms-copy-source', source.slice(0, 64));
  }
  if (range !== undefined && !/^bytes=\d+-\d+$/.test(range)) throw invalidHeader('x-ms-source-range', range);
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const get = url.protocol === 'https:' ? httpsRequest : httpRequest;
    get(url, { method: 'GET', headers: range === undefined ? {} : { range } }, resolve)
      .on('error', reject)
      .end();
  }).catch((error: unknown) => {
    throw new AzureStorageError(409, 'CannotVerifyCopySource', `Could not verify the copy source: ${(error as Error).message}`);
  });
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    const body = Buffer.concat(await response.toArray()).toString('utf8');
    const sourceCode = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? '';
    const reason = response.statusMessage ?? String(status);
    throw new AzureStorageError(
      status,
      'CannotVerifyCopySource',
      reason,
      { CopySourceStatusCode: String(status), CopySourceErrorCode: sourceCode, CopySourceErrorMessage: reason },
      { 'x-ms-copy-source-status-code': String(status), 'x-ms-copy-source-error-code': sourceCode },
    );
  }
  if (range !== undefined && status !== 206) {
    response.resume();
    throw new AzureStorageError(409, 'CannotVerifyCopySource', 'The copy source did not honor the requested range.');
  }
  const length = Number(response.headers['content-length']);
  if (!Number.isSafeInteger(length)) {
    response.resume();
    throw new AzureStorageError(409, 'CannotVerifyCopySource', 'The copy source did not state its Content-Length.');
  }
  return { response, length };
}

interface HeldBytes {
  body(): Readable;
  length: number;
  crc64Base64: string;
  release(): Promise<void>;
}

interface HoldOptions {
  maxBytes: number;
  expectedMd5: string | undefined;
  expectedCrc64: string | undefined;
  /** Whether to compute the CRC64 (JavaScript, about 400 MB/s) at all. */
  crc64Wanted: boolean;
}

/** Reads the source whole, hashing it, and refuses it (before anything is written) when too large or not what the caller said. */
async function holdChecked({ response, length }: FetchedSource, options: HoldOptions): Promise<HeldBytes> {
  if (length > options.maxBytes) {
    response.resume();
    throw new AzureStorageError(413, 'RequestBodyTooLarge', 'The request body is too large and exceeds the maximum permissible limit.', {
      MaxLimit: String(options.maxBytes),
    });
  }
  const md5 = options.expectedMd5 === undefined ? undefined : createHash('md5');
  const crc64 = options.crc64Wanted ? new Crc64NvmeJs() : undefined;
  let folder: string | undefined;
  const chunks: Buffer[] = [];
  let file: ReturnType<typeof createWriteStream> | undefined;
  if (length > IN_MEMORY_BYTES) {
    folder = await mkdtemp(join(tmpdir(), 'local-cloud-from-url-'));
    file = createWriteStream(join(folder, 'source'));
  }
  const release = async () => {
    if (folder) await rm(folder, { recursive: true, force: true });
  };
  try {
    let received = 0;
    for await (const chunk of response as AsyncIterable<Buffer>) {
      received += chunk.length;
      md5?.update(chunk);
      crc64?.update(chunk);
      if (file) {
        if (!file.write(chunk)) await new Promise<void>((resolve) => file?.once('drain', () => resolve()));
      } else chunks.push(chunk);
    }
    if (file) await new Promise<void>((resolve, reject) => file?.end((error?: Error | null) => (error ? reject(error) : resolve())));
    if (received !== length) throw new AzureStorageError(409, 'CannotVerifyCopySource', 'The copy source ended before its Content-Length.');
    // Azure spells a CRC64 as its 8 bytes little-endian, base64.
    const crc64Base64 = crc64
      ? Buffer.from(await crc64.digest())
          .reverse()
          .toString('base64')
      : '';
    const md5Base64 = md5?.digest('base64');
    if (options.expectedMd5 !== undefined && options.expectedMd5 !== md5Base64) {
      throw new AzureStorageError(
        400,
        'Md5Mismatch',
        'The MD5 value specified in the request did not match with the MD5 value calculated by the server.',
        {
          UserSpecifiedMd5: options.expectedMd5,
          ServerCalculatedMd5: md5Base64 ?? '',
        },
      );
    }
    if (options.expectedCrc64 !== undefined && options.expectedCrc64 !== crc64Base64) {
      throw new AzureStorageError(
        400,
        'Crc64Mismatch',
        'The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.',
        {
          UserSpecifiedCrc64: options.expectedCrc64,
          ServerCalculatedCrc64: crc64Base64,
        },
      );
    }
    const path = folder && join(folder, 'source');
    return { body: () => (path ? createReadStream(path) : Readable.from(chunks)), length, crc64Base64, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** Headers of the From-URL request that describe the source or its checks: they do not go to the plain write. */
const SOURCE_ONLY_HEADER = /^(x-ms-copy-source.*|x-ms-source-.*|authorization|content-length|host|connection|expect)$/;
/** Content headers Put Blob From URL takes from the source unless told not to (x-ms-copy-source-blob-properties: false) or given. */
const SOURCE_PROPERTIES: readonly (readonly [string, string])[] = [
  ['content-type', 'x-ms-blob-content-type'],
  ['content-encoding', 'x-ms-blob-content-encoding'],
  ['content-language', 'x-ms-blob-content-language'],
  ['content-disposition', 'x-ms-blob-content-disposition'],
  ['cache-control', 'x-ms-blob-cache-control'],
];

interface UpstreamWrite {
  fetched: FetchedSource;
  held: HeldBytes;
}

/** The plain Put Block / Put Blob that writes the checked bytes into Azurite, signed with the account key. */
function writeUpstream(
  operation: FromUrlOperation,
  request: IncomingMessage,
  context: FromUrlContext,
  { fetched, held }: UpstreamWrite,
): Promise<BlobAnswer> {
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) if (!SOURCE_ONLY_HEADER.test(name)) headers[name] = value;
  if (operation === 'PutBlobFromURL' && header(request.headers, 'x-ms-copy-source-blob-properties') !== 'false') {
    for (const [sourceName, blobName] of SOURCE_PROPERTIES) {
      const value = header(fetched.response.headers, sourceName);
      if (value !== undefined && headers[blobName] === undefined) headers[blobName] = value;
    }
  }
  headers['content-length'] = String(held.length);
  headers['host'] = context.upstream.host;
  const rawUrl = request.url ?? '/';
  headers['authorization'] = sharedKeyAuthorization(context.accountName, context.accountKey, { method: 'PUT', rawUrl, headers });
  return new Promise<BlobAnswer>((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: context.upstream.hostname,
        port: context.upstream.port,
        method: 'PUT',
        path: rawUrl,
        headers: spelledHeaders(headers, request.rawHeaders),
      },
      (response) => resolve(response as IncomingMessage & BlobAnswer),
    );
    outgoing.on('error', reject);
    void pipeline(held.body(), outgoing).catch(reject);
  });
}
