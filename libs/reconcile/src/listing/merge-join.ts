import type { SourceBlob } from './source-listing.js';
import type { TargetObject } from './target-listing.js';
import { compareUtf8 } from './utf8-order.js';

/** One name, as Azure and S3 each know it (absent on the side that lacks it). */
export interface ListedPair {
  /** Blob name; the S3 key is the key layout's root + this name. */
  name: string;
  source: SourceBlob | undefined;
  target: TargetObject | undefined;
}

/** A listing broke the order the merge depends on: continuing would misreport names as missing/extra. */
export class ListingOrderError extends Error {
  override readonly name = 'ListingOrderError';
}

async function* strictlyAscending<T>(items: AsyncIterable<T>, nameOf: (item: T) => string, side: string): AsyncGenerator<T> {
  let previous: string | undefined;
  for await (const item of items) {
    const name = nameOf(item);
    if (previous !== undefined && compareUtf8(previous, name) >= 0) {
      throw new ListingOrderError(
        `The ${side} listing returned ${JSON.stringify(name)} after ${JSON.stringify(previous)}, out of UTF-8 byte ` +
          'order, so the two listings cannot be merged. Real S3 and moto list in that order; s3rver does not for ' +
          "names with characters sorting below '/' (run the local cloud with moto).",
      );
    }
    previous = name;
    yield item;
  }
}

/**
 * Merge-joins two listings, each in UTF-8 byte order of names, into one pair per distinct name.
 * Holds one item of each side at a time, so memory does not grow with the number of objects.
 */
export async function* mergeJoin(
  sources: AsyncIterable<SourceBlob>,
  targets: AsyncIterable<TargetObject>,
  nameOfKey: (key: string) => string,
): AsyncGenerator<ListedPair> {
  const sourceIterator = strictlyAscending(sources, (blob) => blob.name, 'Azure')[Symbol.asyncIterator]();
  const targetIterator = strictlyAscending(targets, (object) => nameOfKey(object.key), 'S3')[Symbol.asyncIterator]();
  try {
    let [source, target] = await Promise.all([sourceIterator.next(), targetIterator.next()]);
    while (!source.done || !target.done) {
      const order = source.done ? 1 : target.done ? -1 : compareUtf8(source.value.name, nameOfKey(target.value.key));
      if (order < 0 && !source.done) {
        yield { name: source.value.name, source: source.value, target: undefined };
        source = await sourceIterator.next();
      } else if (order > 0 && !target.done) {
        yield { name: nameOfKey(target.value.key), source: undefined, target: target.value };
        target = await targetIterator.next();
      } else if (!source.done && !target.done) {
        yield { name: source.value.name, source: source.value, target: target.value };
        [source, target] = await Promise.all([sourceIterator.next(), targetIterator.next()]);
      }
    }
  } finally {
    await Promise.all([sourceIterator.return(undefined), targetIterator.return(undefined)]);
  }
}
