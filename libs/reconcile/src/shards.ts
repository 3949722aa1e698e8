import type { ContainerClient } from '@azure/storage-blob';
import type { KeyMapping } from '@blobferry/transfer';
import { listingFor, requestFor } from './failures.js';
import { listSourceBlobs, listSourceTopLevel, type SourceBlob } from './listing/source-listing.js';
import { listTargetObjects, listTargetTopLevel, type TargetLocation, type TargetObject } from './listing/target-listing.js';
import { compareUtf8, inUtf8Order } from './listing/utf8-order.js';

/** A slice of the name space whose two listings can be merged independently of the others. */
export interface Shard {
  label: string;
  sources(): AsyncIterable<SourceBlob>;
  targets(): AsyncIterable<TargetObject>;
}

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** What a listing reads, for messages: never the container URL, which may carry a SAS. */
function sourceSubject(container: ContainerClient, prefix: string): string {
  return `container ${JSON.stringify(container.containerName)} under ${JSON.stringify(prefix)}`;
}

function targetSubject(target: TargetLocation, keyPrefix: string): string {
  return `s3://${target.bucket}/${keyPrefix}`;
}

function flatShard(o: Omit<PlanShardsOptions, 'prefix'>, prefix: string): Shard {
  return {
    label: prefix,
    sources: () =>
      listingFor(
        'azure',
        sourceSubject(o.container, prefix),
        inUtf8Order((listed) => listSourceBlobs(o.container, listed, { properties: o.properties, abortSignal: o.abortSignal }), prefix),
      ),
    targets: () =>
      listingFor(
        's3',
        targetSubject(o.target, o.keys.keyOf(prefix)),
        withoutSidecars(o.keys, listTargetObjects(o.target, o.keys.keyOf(prefix), o.abortSignal)),
      ),
  };
}

export interface PlanShardsOptions {
  container: ContainerClient;
  target: TargetLocation;
  keys: KeyMapping;
  prefix: string;
  /** List the blobs' metadata and tags too. */
  properties?: boolean;
  abortSignal?: AbortSignal;
}

/**
 * The objects that are blobs' backups: properties sidecars (`keys.sidecarRoot`) are not, and lie under the
 * key root only with the `blob` layout, whose root is the prefix itself.
 */
async function* withoutSidecars(keys: KeyMapping, objects: AsyncIterable<TargetObject>): AsyncGenerator<TargetObject> {
  for await (const object of objects) if (!object.key.startsWith(keys.sidecarRoot)) yield object;
}

/**
 * Splits the listing under `prefix` at its first "/" level: one shard per folder (the union of both
 * sides' folders, so folders only S3 has are still reported as extra) and one for the names at that
 * level, which the one-page discovery listing already holds. When either side's level spans more than
 * one page, folder discovery would cost as much as the listing itself: then it is one shard.
 */
export async function planShards(o: PlanShardsOptions): Promise<Shard[]> {
  const [sourceLevel, targetLevel] = await Promise.all([
    requestFor('azure', 'list', sourceSubject(o.container, o.prefix), () =>
      listSourceTopLevel(o.container, o.prefix, { properties: o.properties, abortSignal: o.abortSignal }),
    ),
    requestFor('s3', 'list', targetSubject(o.target, o.keys.keyOf(o.prefix)), () =>
      listTargetTopLevel(o.target, o.keys.keyOf(o.prefix), o.abortSignal),
    ),
  ]);
  if (!sourceLevel || !targetLevel) return [flatShard(o, o.prefix)];
  const isSidecar = (key: string) => key.startsWith(o.keys.sidecarRoot);
  const folders = new Set([
    ...sourceLevel.prefixes,
    ...targetLevel.prefixes.filter((key) => !isSidecar(key)).map((key) => o.keys.nameOf(key)),
  ]);
  const sources = [...sourceLevel.blobs].sort((a, b) => compareUtf8(a.name, b.name));
  const targets = targetLevel.objects.filter((object) => !isSidecar(object.key)).sort((a, b) => compareUtf8(a.key, b.key));
  return [
    { label: o.prefix, sources: () => fromArray(sources), targets: () => fromArray(targets) },
    ...[...folders].sort(compareUtf8).map((folder) => flatShard(o, folder)),
  ];
}
