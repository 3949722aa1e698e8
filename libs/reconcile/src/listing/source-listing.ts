import type { ContainerClient } from '@azure/storage-blob';
import { listBlobsPage } from './list-blobs-page.js';
import { prefetched } from './prefetch.js';

/** What the Azure listing says of a blob: enough to classify it without reading it. */
export interface SourceBlob {
  name: string;
  etag: string;
  size: number;
  /** Content-MD5 when the uploader set it (always for single-shot PutBlob). */
  md5Base64: string | undefined;
  lastModified: Date;
  /** Block, append or page blob, when the listing says (an event announces block blobs only). */
  blobType?: 'BlockBlob' | 'AppendBlob' | 'PageBlob';
}

const PAGE_SIZE = 5000;

async function* listPages(container: ContainerClient, prefix: string, abortSignal?: AbortSignal): AsyncGenerator<SourceBlob[]> {
  let marker: string | undefined;
  do {
    const page = await listBlobsPage(container, { prefix, ...(marker ? { marker } : {}), maxResults: PAGE_SIZE }, abortSignal);
    yield page.blobs;
    marker = page.nextMarker;
  } while (marker);
}

/** Every blob whose name starts with `prefix`, in the service's listing order, one page fetched ahead. */
export async function* listSourceBlobs(container: ContainerClient, prefix: string, abortSignal?: AbortSignal): AsyncGenerator<SourceBlob> {
  for await (const page of prefetched(listPages(container, prefix, abortSignal))) yield* page;
}

/** One level of the hierarchy under `prefix` ("/" delimited), or undefined when it is more than one page. */
export async function listSourceTopLevel(
  container: ContainerClient,
  prefix: string,
  abortSignal?: AbortSignal,
): Promise<{ blobs: SourceBlob[]; prefixes: string[] } | undefined> {
  const page = await listBlobsPage(container, { prefix, delimiter: '/', maxResults: PAGE_SIZE }, abortSignal);
  if (page.nextMarker) return undefined;
  return { blobs: page.blobs, prefixes: page.prefixes };
}
