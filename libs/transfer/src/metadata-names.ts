import { ContainerClient, RestError, type BlobClient } from '@azure/storage-blob';
import { parseBlobUrl } from './blob-url.js';
import { stripQuotes } from './metadata.js';
import type { SourceSnapshot } from './source.js';

// Azure keeps the case of metadata names, but Get Blob's headers reach Node lower-cased; only List Blobs
// (XML) spells them as written. A copy whose caller did not list the blob lists it itself, one name, so the
// backup records the spelling (`source-metadata-names`) and a restore gives the names back their case.

/**
 * The blob's metadata names as List Blobs spells them, when it has any and the listing shows the version read
 * (same ETag); undefined otherwise, or where the credential may not list (a blob-scoped SAS).
 */
export async function listedMetadataNames(
  blob: BlobClient,
  snapshot: Pick<SourceSnapshot, 'etag' | 'metadata'>,
  abortSignal: AbortSignal | undefined,
): Promise<string[] | undefined> {
  if (Object.keys(snapshot.metadata).length === 0) return undefined;
  const { accountUrl, container } = parseBlobUrl(blob.url);
  const containerClient = new ContainerClient(`${accountUrl}/${container}${new URL(blob.url).search}`, blob.credential);
  // A name sorts first among the names it is a prefix of: the first item listed is the blob, if it exists.
  const pages = containerClient.listBlobsFlat({ prefix: blob.name, includeMetadata: true, abortSignal }).byPage({ maxPageSize: 1 });
  try {
    const item = (await pages.next()).value?.segment.blobItems[0];
    if (item?.name !== blob.name || stripQuotes(item.properties.etag) !== stripQuotes(snapshot.etag)) return undefined;
    return Object.keys(item.metadata ?? {});
  } catch (error) {
    if (error instanceof RestError && (error.statusCode === 403 || error.statusCode === 404)) return undefined;
    throw error;
  }
}
