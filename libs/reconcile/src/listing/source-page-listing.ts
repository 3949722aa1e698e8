import type { ContainerClient } from '@azure/storage-blob';
import type { KeyMapping } from '@blobferry/transfer';
import { listingFor, requestFor } from '../failures.js';
import type { Shard } from '../shards.js';
import { listBlobsPage } from './list-blobs-page.js';
import type { ListingSource } from './listing-source.js';
import type { SourceBlob } from './source-listing.js';
import { listTargetObjects, type TargetLocation, type TargetObject } from './target-listing.js';
import { compareUtf8 } from './utf8-order.js';

// One bounded slice of a container: one page of the Azure listing (at most `maxBlobs` names, from the
// service's opaque marker), joined with the S3 keys that can belong to those names. The marker of the next
// page and the last key read make the checkpoint a later slice starts from, so a sweep can stop after any
// slice (a recycled instance) and go on where it stopped.
//
// The S3 side reads the keys after the previous slice's last name up to this page's last name (in UTF-8
// order, S3's), so every object of this page's names is seen. A key after this page's last name belongs to
// a later page and is left to it; only the last page reads to the end, so only it reports extras. Azure
// lists in UTF-16 order, which differs from UTF-8 only between supplementary characters and U+E000-FFFF:
// such a name can fall on the other side of a page boundary and is then reported missing by one slice
// (its repair finds the backup up to date), never silently passed over.

/** Where the next slice starts: Azure's marker for the next page, and the S3 key the page ended at. */
export interface SliceCheckpoint {
  marker: string;
  /** The key of the page's last name in UTF-8 order: S3 listing resumes after it. */
  targetStartAfter: string;
}

export interface SourcePageListingOptions {
  container: ContainerClient;
  target: TargetLocation;
  keys: KeyMapping;
  /** Where to start: undefined for the first page of the container. */
  from?: SliceCheckpoint;
  /** At most this many blobs (Azure answers at most 5,000 per page). */
  maxBlobs?: number;
  /** List each blob's metadata and index tags too, for reconcile's `properties` mode. */
  properties?: boolean;
}

export interface SourcePageListing extends ListingSource {
  /** Once `shards` has run: where the next slice starts, or undefined after the last page. */
  next(): SliceCheckpoint | undefined;
}

const DEFAULT_MAX_BLOBS = 5000;

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** The objects from `listed` up to and including `lastKey` (all of them without one). */
async function* upTo(listed: AsyncIterable<TargetObject>, lastKey: string | undefined): AsyncGenerator<TargetObject> {
  for await (const object of listed) {
    if (lastKey !== undefined && compareUtf8(object.key, lastKey) > 0) return;
    yield object;
  }
}

export function sourcePageListing(options: SourcePageListingOptions): SourcePageListing {
  const { container, target, keys } = options;
  let next: SliceCheckpoint | undefined;
  let listed = false;
  return {
    next() {
      if (!listed) throw new Error('sourcePageListing: next() is known once shards() has run');
      return next;
    },
    async shards(abortSignal) {
      const subject = `container ${JSON.stringify(container.containerName)}`;
      const page = await requestFor('azure', 'list', subject, () =>
        listBlobsPage(
          container,
          {
            prefix: '',
            ...(options.from ? { marker: options.from.marker } : {}),
            maxResults: options.maxBlobs ?? DEFAULT_MAX_BLOBS,
            properties: options.properties === true,
          },
          abortSignal,
        ),
      );
      listed = true;
      const sources: SourceBlob[] = [...page.blobs].sort((a, b) => compareUtf8(a.name, b.name));
      const lastName = sources.at(-1)?.name;
      const startAfter = options.from?.targetStartAfter;
      // The last key of this page bounds the S3 side, except on the last page, which reads to the end.
      // keys.root + name, not keys.keyOf: a name too long for S3 still bounds the page (its copy is refused).
      const lastKey = page.nextMarker && lastName !== undefined ? keys.root + lastName : undefined;
      next = page.nextMarker ? { marker: page.nextMarker, targetStartAfter: lastKey ?? startAfter ?? '' } : undefined;
      // A page without a name (Azure may answer one with a marker) has nothing to join on its S3 side.
      const emptyMiddlePage = page.nextMarker !== undefined && lastName === undefined;
      const shard: Shard = {
        label: `${keys.root}${options.from ? ` after ${JSON.stringify(startAfter)}` : ''}`,
        sources: () => fromArray(sources),
        targets: () =>
          emptyMiddlePage
            ? fromArray([])
            : listingFor(
                's3',
                `s3://${target.bucket}/${keys.root}`,
                upTo(listTargetObjects(target, keys.root, abortSignal, startAfter || undefined), lastKey),
              ),
      };
      return [shard];
    },
  };
}
