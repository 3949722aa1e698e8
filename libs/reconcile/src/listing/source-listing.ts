import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import { prefetched } from './prefetch.js';

/** What the Azure listing says of a blob: enough to classify it without reading it. */
export interface SourceBlob {
  name: string;
  etag: string;
  size: number;
  /** Content-MD5 when the uploader set it (always for single-shot PutBlob). */
  md5Base64: string | undefined;
  lastModified: Date;
}

const PAGE_SIZE = 5000;

export function toSourceBlob(item: BlobItem): SourceBlob {
  const md5 = item.properties.contentMD5;
  return {
    name: item.name,
    etag: item.properties.etag,
    size: item.properties.contentLength ?? 0,
    md5Base64: md5 && md5.length > 0 ? Buffer.from(md5).toString('base64') : undefined,
    lastModified: item.properties.lastModified,
  };
}

async function* listPages(container: ContainerClient, prefix: string, abortSignal?: AbortSignal): AsyncGenerator<SourceBlob[]> {
  for await (const page of container.listBlobsFlat({ prefix, abortSignal }).byPage({ maxPageSize: PAGE_SIZE })) {
    yield page.segment.blobItems.map(toSourceBlob);
  }
}

/** Every blob whose name starts with `prefix`, in the service's listing order, one page fetched ahead. */
export async function* listSourceBlobs(
  container: ContainerClient,
  prefix: string,
  abortSignal?: AbortSignal,
): AsyncGenerator<SourceBlob> {
  for await (const page of prefetched(listPages(container, prefix, abortSignal))) yield* page;
}

/** One level of the hierarchy under `prefix` ("/" delimited), or undefined when it is more than one page. */
export async function listSourceTopLevel(
  container: ContainerClient,
  prefix: string,
  abortSignal?: AbortSignal,
): Promise<{ blobs: SourceBlob[]; prefixes: string[] } | undefined> {
  const pages = container.listBlobsByHierarchy('/', { prefix, abortSignal }).byPage({ maxPageSize: PAGE_SIZE });
  const first = await pages.next();
  if (first.done) return { blobs: [], prefixes: [] };
  if (first.value.continuationToken) return undefined;
  return {
    blobs: first.value.segment.blobItems.map(toSourceBlob),
    prefixes: (first.value.segment.blobPrefixes ?? []).map((blobPrefix) => blobPrefix.name),
  };
}
