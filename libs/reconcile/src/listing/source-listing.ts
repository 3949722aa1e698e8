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
  /** `BlockBlob`, `AppendBlob`, `PageBlob`. */
  blobType?: string | undefined;
  /** Hot, Cool, Cold, Archive; absent for a blob without a tier (page and append blobs on standard accounts). */
  accessTier?: string | undefined;
  /** With a `properties` listing (include=metadata,tags): the blob's metadata, names as Azure spells them. */
  metadata?: Record<string, string>;
  /** With a `properties` listing: the blob's index tags. */
  tags?: Record<string, string>;
}

const PAGE_SIZE = 5000;

/** `properties`: list each blob's metadata and index tags too (include=metadata,tags; tags need `blobs/tags/read`). */
export interface SourceListingOptions {
  properties?: boolean;
  abortSignal?: AbortSignal | undefined;
}

async function* listPages(container: ContainerClient, prefix: string, o: SourceListingOptions): AsyncGenerator<SourceBlob[]> {
  let marker: string | undefined;
  do {
    const page = await listBlobsPage(
      container,
      { prefix, ...(marker ? { marker } : {}), maxResults: PAGE_SIZE, ...(o.properties ? { properties: true } : {}) },
      o.abortSignal,
    );
    yield page.blobs;
    marker = page.nextMarker;
  } while (marker);
}

/** Every blob whose name starts with `prefix`, in the service's listing order, one page fetched ahead. */
export async function* listSourceBlobs(
  container: ContainerClient,
  prefix: string,
  o: SourceListingOptions = {},
): AsyncGenerator<SourceBlob> {
  for await (const page of prefetched(listPages(container, prefix, o))) yield* page;
}

/** One level of the hierarchy under `prefix` ("/" delimited), or undefined when it is more than one page. */
export async function listSourceTopLevel(
  container: ContainerClient,
  prefix: string,
  o: SourceListingOptions = {},
): Promise<{ blobs: SourceBlob[]; prefixes: string[] } | undefined> {
  const page = await listBlobsPage(
    container,
    { prefix, delimiter: '/', maxResults: PAGE_SIZE, ...(o.properties ? { properties: true } : {}) },
    o.abortSignal,
  );
  if (page.nextMarker) return undefined;
  return { blobs: page.blobs, prefixes: page.prefixes };
}
