import {
  AccountSASPermissions,
  AccountSASResourceTypes,
  AccountSASServices,
  ContainerSASPermissions,
  StorageSharedKeyCredential,
  generateAccountSASQueryParameters,
  generateBlobSASQueryParameters,
} from '@azure/storage-blob';
import type { Stack } from '@blobferry/local-cloud';
import type { Agent } from 'node:http';
import { mapConcurrently } from './pool.js';
import { keepAliveAgent, send, signS3, type S3Target } from './thin-http.js';

// The endpoints on their own, with no copy in between and the thinnest client (thin-http.ts): what "the limit"
// of a scenario is made of, for writes and listings (reads: curl-reads.ts). Bytes written come from one reused
// buffer, so the measuring process does no other work.

export interface Endpoints {
  agent: Agent;
  azureUrl(container: string, blobName?: string, query?: Record<string, string>): URL;
  s3: S3Target;
  bucket: string;
}

/** Blob and container URLs carrying a read/list container SAS (signed once per container). */
export function azureSasUrls(stack: Stack): Endpoints['azureUrl'] {
  const credential = new StorageSharedKeyCredential(stack.azure.accountName, stack.azure.accountKey);
  const sasByContainer = new Map<string, string>();
  const sasFor = (container: string) => {
    let sas = sasByContainer.get(container);
    if (!sas) {
      sas = generateBlobSASQueryParameters(
        { containerName: container, permissions: ContainerSASPermissions.parse('rl'), expiresOn: new Date(Date.now() + 6 * 3600_000) },
        credential,
      ).toString();
      sasByContainer.set(container, sas);
    }
    return sas;
  };
  return (container, blobName, query = {}) => {
    const path = blobName === undefined ? '' : `/${blobName.split('/').map(encodeURIComponent).join('/')}`;
    const extra = new URLSearchParams(query).toString();
    return new URL(`${stack.azure.blobEndpoint}/${container}${path}?${extra ? `${extra}&` : ''}${sasFor(container)}`);
  };
}

export function s3TargetOf(stack: Stack): S3Target {
  return {
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    accessKeyId: stack.aws.emulatorAccessKeyId,
    secretAccessKey: stack.aws.emulatorSecretAccessKey,
  };
}

export function endpointsFor(stack: Stack, sockets: number): Endpoints {
  return { agent: keepAliveAgent(sockets), azureUrl: azureSasUrls(stack), s3: s3TargetOf(stack), bucket: stack.aws.bucket };
}

export const AZURE_VERSION = { 'x-ms-version': '2021-08-06' };

function xmlValue(xml: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match?.[1]
    ?.replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'");
}

function countTags(xml: string, tag: string): number {
  return xml.split(`<${tag}>`).length - 1;
}

export interface WriteObjectsOptions {
  e: Endpoints;
  keyPrefix: string;
  count: number;
  size: number;
  partSize: number;
  concurrency: number;
}

/** Writes `count` objects of `size` bytes; objects larger than `partSize` go up as multipart uploads. */
export async function writeObjects(o: WriteObjectsOptions): Promise<number> {
  const { e } = o;
  const buffer = Buffer.alloc(Math.min(o.size, o.partSize), 0x5a);
  const keys = Array.from({ length: o.count }, (_, i) => `${e.bucket}/${o.keyPrefix}${i}`);
  if (o.size <= o.partSize) {
    await mapConcurrently(keys, o.concurrency, async (key) => {
      const { url, headers } = await signS3(e.s3, 'PUT', key);
      await send({ agent: e.agent, method: 'PUT', url, headers, body: buffer });
    });
    return o.count * o.size;
  }
  for (const key of keys) {
    await multipartUpload({ e, key, size: o.size, buffer, partSize: o.partSize, concurrency: o.concurrency });
  }
  return o.count * o.size;
}

interface MultipartUploadOptions {
  e: Endpoints;
  key: string;
  size: number;
  buffer: Buffer;
  partSize: number;
  concurrency: number;
}

/** One object of `size` (> partSize) as a multipart upload, `concurrency` parts in flight; bytes from `buffer`. */
async function multipartUpload(o: MultipartUploadOptions): Promise<void> {
  const { e, key, buffer } = o;
  const created = await signS3(e.s3, 'POST', key, { uploads: '' });
  const uploadId = xmlValue((await send({ agent: e.agent, method: 'POST', ...created, keepBody: true })).body, 'UploadId');
  if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  const partCount = Math.ceil(o.size / o.partSize);
  const partIndices = Array.from({ length: partCount }, (_, index) => index);
  const etags = await mapConcurrently(partIndices, o.concurrency, async (index) => {
    const length = Math.min(o.partSize, o.size - index * o.partSize);
    const part = await signS3(e.s3, 'PUT', key, { partNumber: String(index + 1), uploadId });
    const response = await send({
      agent: e.agent,
      method: 'PUT',
      ...part,
      body: length === buffer.length ? buffer : buffer.subarray(0, length),
    });
    return String(response.headers.etag ?? '');
  });
  const manifest = `<CompleteMultipartUpload>${etags
    .map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${etag}</ETag></Part>`)
    .join('')}</CompleteMultipartUpload>`;
  const completed = await signS3(e.s3, 'POST', key, { uploadId });
  await send({ agent: e.agent, method: 'POST', ...completed, body: Buffer.from(manifest) });
}

export interface WriteObjectsOfSizesOptions {
  e: Endpoints;
  keyPrefix: string;
  sizes: number[];
  partSize: number;
  filesInFlight: number;
  partsInFlight: number;
}

/**
 * Writes one object per entry of `sizes`, `filesInFlight` at once, as the tools copy a mixed set: one PUT up to
 * `partSize`, above it a multipart upload with `partsInFlight` parts in flight.
 */
export async function writeObjectsOfSizes(o: WriteObjectsOfSizesOptions): Promise<number> {
  const { e } = o;
  const buffer = Buffer.alloc(Math.min(Math.max(0, ...o.sizes), o.partSize), 0x5a);
  await mapConcurrently(o.sizes, o.filesInFlight, async (size, i) => {
    const key = `${e.bucket}/${o.keyPrefix}${i}`;
    if (size > o.partSize) {
      await multipartUpload({ e, key, size, buffer, partSize: o.partSize, concurrency: o.partsInFlight });
      return;
    }
    const { url, headers } = await signS3(e.s3, 'PUT', key);
    await send({ agent: e.agent, method: 'PUT', url, headers, body: buffer.subarray(0, size) });
  });
  return o.sizes.reduce((sum, size) => sum + size, 0);
}

export interface ListBlobsOptions {
  e: Endpoints;
  container: string;
  prefixes: string[];
  concurrency: number;
}

/** Lists every blob under each prefix (prefixes listed in parallel); returns the count. */
export async function listBlobs(o: ListBlobsOptions): Promise<number> {
  let count = 0;
  await mapConcurrently(o.prefixes, o.concurrency, async (prefix) => {
    let marker: string | undefined;
    do {
      const query: Record<string, string> = {
        restype: 'container',
        comp: 'list',
        prefix,
        maxresults: '5000',
        ...(marker ? { marker } : {}),
      };
      const page = await send({
        agent: o.e.agent,
        method: 'GET',
        url: o.e.azureUrl(o.container, undefined, query),
        headers: AZURE_VERSION,
        keepBody: true,
      });
      count += countTags(page.body, 'Blob');
      marker = xmlValue(page.body, 'NextMarker') || undefined;
    } while (marker);
  });
  return count;
}

export interface ListObjectsOptions {
  e: Endpoints;
  prefixes: string[];
  concurrency: number;
}

/** Lists every object under each prefix (ListObjectsV2, prefixes listed in parallel); returns the count. */
export async function listObjects(o: ListObjectsOptions): Promise<number> {
  let count = 0;
  await mapConcurrently(o.prefixes, o.concurrency, async (prefix) => {
    let token: string | undefined;
    do {
      const query: Record<string, string> = {
        'list-type': '2',
        prefix,
        'max-keys': '1000',
        ...(token ? { 'continuation-token': token } : {}),
      };
      const signed = await signS3(o.e.s3, 'GET', o.e.bucket, query);
      const page = await send({ agent: o.e.agent, method: 'GET', ...signed, keepBody: true });
      count += countTags(page.body, 'Contents');
      token = xmlValue(page.body, 'IsTruncated') === 'true' ? xmlValue(page.body, 'NextContinuationToken') : undefined;
    } while (token);
  });
  return count;
}

/** `x-ms-approximate-messages-count` of a Get Queue Metadata answer; NaN when the header is absent. */
export function approximateMessagesOf(headers: Record<string, string | string[] | undefined>): number {
  const value = headers['x-ms-approximate-messages-count'];
  return Number(Array.isArray(value) ? value[0] : (value ?? NaN));
}

export interface QueueDepthReader {
  depth(): Promise<number>;
  close(): void;
}

/**
 * Reads how many messages the backup queue holds (Get Queue Metadata with an account SAS for the queue service):
 * how the bench sees the queue fill while a backfill enqueues and drain while the Functions host consumes.
 */
export function queueDepthReader(stack: Stack, queueName: string): QueueDepthReader {
  const credential = new StorageSharedKeyCredential(stack.azure.accountName, stack.azure.accountKey);
  const sas = generateAccountSASQueryParameters(
    {
      services: AccountSASServices.parse('q').toString(),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      permissions: AccountSASPermissions.parse('r'),
      expiresOn: new Date(Date.now() + 6 * 3600_000),
    },
    credential,
  ).toString();
  const agent = keepAliveAgent(1);
  const url = new URL(`${stack.azure.queueEndpoint}/${queueName}?comp=metadata&${sas}`);
  return {
    depth: async () => {
      const response = await send({ agent, method: 'GET', url, headers: AZURE_VERSION });
      const depth = approximateMessagesOf(response.headers);
      if (!Number.isFinite(depth)) throw new Error(`Get Queue Metadata of ${queueName} answered without x-ms-approximate-messages-count`);
      return depth;
    },
    close: () => agent.destroy(),
  };
}
