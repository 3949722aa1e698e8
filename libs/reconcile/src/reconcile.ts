import { GetObjectTaggingCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import {
  digestBlob,
  digestObject,
  fullObjectChecksumOf,
  KeyTooLongError,
  recordedSourceOf,
  type KeyMapping,
  type RecordedSource,
  type S3EndpointFeatures,
  type StorageClassByTier,
} from '@blobferry/transfer';
import pLimit from 'p-limit';
import {
  classifyFromContent,
  classifyFromDigests,
  classifyFromListings,
  classifyWithRecord,
  contentCanDecide,
  DIFFERENCE_KINDS,
  type Classification,
  type DifferenceKind,
} from './classification.js';
import { ObjectRequestFailed, requestFor, type ObjectError } from './failures.js';
import { mergeJoin, type ListedPair } from './listing/merge-join.js';
import type { SourceBlob } from './listing/source-listing.js';
import type { TargetObject } from './listing/target-listing.js';
import { mapInOrder } from './ordered-window.js';
import { repairDifference, type RepairOptions, type RepairResult } from './repair/repair.js';
import type { ListingSource } from './listing/listing-source.js';
import { listedStateOf } from './listed-state.js';
import { bytesEqualByMd5, propertyDifferences, type HeadProperties, type PropertyDifference } from './properties.js';
import { planShards } from './shards.js';

export interface ReconcileOptions {
  /** The container and, optionally, the blob name prefix to reconcile. */
  source: { container: ContainerClient; prefix?: string };
  /** `features`: what the endpoint does with checksums and conditional writes (default: Amazon S3's). */
  target: { s3: S3Client; bucket: string; features?: S3EndpointFeatures };
  /** Where the container's blobs live in the bucket (libs/transfer's `keyMappingFor`). */
  keys: KeyMapping;
  /**
   * Check the content of every pair present on both sides (whose listings and metadata do not already
   * prove it stale or of another size). When S3 stores a full-object CRC32 or CRC32C for the object (as
   * blobferry's copy writes it), only the blob is read, to recompute that CRC; otherwise both sides are
   * read and their MD5s compared. `ReconcileSummary.deepChecks` counts each way.
   */
  deep?: boolean;
  /**
   * Compare every pair's properties too: the listing includes metadata and tags (Azure RBAC
   * `blobs/tags/read`), every pair present on both sides is HEADed (unless `provedInSyncBefore` vouches
   * for it), and tags are read (GetObjectTagging) where the blob or the object has some. Without it,
   * properties are compared only where a HEAD was made anyway (the recorded tier and blob type against
   * the listing's).
   */
  properties?: boolean;
  /** The storage class each tier maps to (the Function's STORAGE_CLASS_BY_TIER): compared, and used by repairs. */
  storageClassByTier?: StorageClassByTier;
  /** Object requests (HEAD, digests, copies, queue messages) in flight at once (default 16). */
  concurrency?: number;
  /** Mend what differs (here, or through the backup queue); `dryRun` only says what it would do. */
  repair?: RepairOptions;
  /** Each difference as it is found (repaired already, with `repair`). */
  onDifference?: (difference: Difference) => void;
  onProgress?: (progress: ReconcileProgress) => void;
  abortSignal?: AbortSignal;
  /**
   * Where the pairs come from: by default both sides' live listings under `source.prefix`, sharded by
   * folder. The sweep passes one page at a time (`sourcePageListing`).
   */
  listing?: ListingSource;
  /**
   * Pairs an earlier run proved in sync (the sweep's record of its last run): asked about each pair present on
   * both sides that would be HEADed, with its listed state (`listedStateOf`); true means the pair was proved in
   * sync when both listings said exactly that, and it is counted in sync without the HEAD. Not with `deep` (the
   * verdict reads content) or `storageClassByTier` (a storage class changes without a new ETag or time).
   */
  provedInSyncBefore?: (name: string, listedState: string) => boolean;
  /** Each pair present on both sides found in sync, with its listed state: what `provedInSyncBefore` answers from next time. */
  onInSync?: (name: string, listedState: string, pair: { source: SourceBlob; target: TargetObject }) => void;
}

export interface ReconcileProgress {
  objects: number;
  bytes: number;
}

export interface Difference {
  /** The S3 key (key mapping root + blob name). */
  key: string;
  kind: DifferenceKind;
  source: SourceBlob | undefined;
  target: TargetObject | undefined;
  /** What the object's metadata says of the blob version it holds, when it was read (HEAD). */
  recorded?: RecordedSource;
  /** With kind `propertiesDiffer`: which properties differ. */
  properties?: PropertyDifference[];
  /** With kind `error`: the request about this object that failed, and why. */
  error?: ObjectError;
  repair?: RepairResult;
}

export type ReconcileCounts = Record<Classification, number>;

export interface ReconcileSummary extends ReconcileCounts {
  repaired: number;
  /** Messages written to the backup queue (`repair.viaQueue`, backfill). */
  enqueued: number;
  /** Differences whose message from an earlier run is still queued (not enqueued again). */
  alreadyQueued: number;
  /** Differences still there after the run (all of them without `repair`). */
  remaining: number;
  /**
   * With `deep`: how each pair's content was checked. `storedChecksum`: the blob's CRC against the
   * full-object checksum S3 stores (HEAD with ChecksumMode; no object bytes read). `bothSides`: the MD5s
   * of the blob's and the object's bytes (no full-object CRC32/CRC32C stored, e.g. s3rver, objects from
   * other tools, composite multipart checksums).
   */
  deepChecks?: DeepChecks;
  durationMs: number;
}

export interface DeepChecks {
  storedChecksum: number;
  bothSides: number;
}

const SHARDS_IN_PARALLEL = 4;
/**
 * Batch messages a shard fills and sends at once: a pair waits (in order) until its message is in the queue,
 * so with fewer the listing waits on one Put Message at a time, and the Function's first copy with it.
 */
const BATCH_MESSAGES_IN_FLIGHT = 8;

interface Evidence {
  kind: Classification;
  record?: RecordedSource;
  properties?: PropertyDifference[];
  bytes: number;
  deepCheck?: keyof DeepChecks;
}

interface HeadEvidence {
  record: RecordedSource;
  /** With `checksumMode`: the full-object CRC32 / CRC32C S3 stores for the object, if any. */
  checksum: ReturnType<typeof fullObjectChecksumOf>;
  properties: HeadProperties;
}

/** One HEAD: the object's recorded source version and, with `checksumMode` (deep), its stored full-object checksum. */
async function readHead(s3: S3Client, bucket: string, key: string, checksumMode: boolean, abortSignal: AbortSignal): Promise<HeadEvidence> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...(checksumMode ? { ChecksumMode: 'ENABLED' } : {}) }), {
    abortSignal,
  });
  return {
    record: recordedSourceOf(head.Metadata),
    checksum: checksumMode ? fullObjectChecksumOf(head) : undefined,
    properties: { storageClass: head.StorageClass ?? 'STANDARD', tagCount: head.TagCount ?? 0 },
  };
}

/**
 * Reconciles the container (under `prefix`) with its backup: both sides listed as sorted streams per
 * shard and merge-joined, each name classified with as little I/O as the evidence allows, and, when
 * asked, repaired. Differences are reported as they are found; the summary counts everything.
 *
 * A request about one object that fails (refused, or the object or blob gone mid-run) makes that
 * object an `error` difference and the run goes on. A listing that fails, or a service that stops
 * answering, rejects with a ReconcileRequestError (its `cause` is the SDK's error); a listing out of
 * order rejects with a ListingOrderError.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const started = performance.now();
  const { container } = options.source;
  const prefix = options.source.prefix ?? '';
  const { s3, bucket } = options.target;
  const { keys } = options;
  // One failing shard stops the others instead of leaving their requests running.
  const stopAll = new AbortController();
  const abortSignal = options.abortSignal ? AbortSignal.any([options.abortSignal, stopAll.signal]) : stopAll.signal;
  const concurrency = options.concurrency ?? 16;
  const objectRequests = pLimit(concurrency);
  const counts = Object.fromEntries(['inSync', ...DIFFERENCE_KINDS].map((kind) => [kind, 0])) as ReconcileCounts;
  const progress: ReconcileProgress = { objects: 0, bytes: 0 };
  let repaired = 0;
  let enqueued = 0;
  let alreadyQueued = 0;
  let remaining = 0;
  const deepChecks: DeepChecks = { storedChecksum: 0, bothSides: 0 };

  const comparesProperties = options.properties === true;
  // Pairs in flight per shard: with a queue repair, enough for BATCH_MESSAGES_IN_FLIGHT full batch messages.
  const window = Math.max(concurrency * 4, BATCH_MESSAGES_IN_FLIGHT * (options.repair?.viaQueue?.entriesPerMessage ?? 0));
  const tracksListedState = options.provedInSyncBefore !== undefined || options.onInSync !== undefined;
  if (options.provedInSyncBefore && (options.deep || options.storageClassByTier)) {
    throw new Error('reconcile: provedInSyncBefore cannot vouch for content (deep) or storage classes (storageClassByTier)');
  }

  /** The shallow (and with `deep`, the content) verdict on one pair, with the metadata read for it. */
  async function evidenceFor(pair: ListedPair, key: string, listedState: string | undefined): Promise<Evidence> {
    const { source, target } = pair;
    const shallow = classifyFromListings(source, target);
    if (!source || !target) {
      if (shallow === 'needsHead') throw new Error(`unreachable: ${key} needs a HEAD without a pair`);
      return { kind: shallow, bytes: source?.size ?? target?.size ?? 0 };
    }
    const deep = options.deep === true;
    const head = (): Promise<HeadEvidence> =>
      objectRequests(() => requestFor('s3', 'head', `s3://${bucket}/${key}`, () => readHead(s3, bucket, key, deep, abortSignal)));
    let evidence: HeadEvidence | undefined;
    let kind: Classification;
    let differing: PropertyDifference[] = [];
    if (shallow === 'needsHead' || (comparesProperties && shallow === 'inSync')) {
      if (listedState !== undefined && options.provedInSyncBefore?.(pair.name, listedState)) return { kind: 'inSync', bytes: source.size };
      // With `deep`, the same HEAD asks for the stored checksum too.
      evidence = await head();
      kind = shallow === 'inSync' ? shallow : classifyWithRecord(source, target, evidence.record);
      // A new version of the blob with the object's bytes: Set Blob Metadata or Set Blob Properties.
      if (kind === 'stale' && bytesEqualByMd5(source, target, evidence.record)) {
        kind = 'propertiesDiffer';
        differing = ['source-version'];
      }
      if (kind === 'inSync' || kind === 'propertiesDiffer') {
        differing.push(...(await propertiesOf(source, key, evidence)));
        if (differing.length > 0) kind = 'propertiesDiffer';
      }
    } else {
      kind = shallow;
    }
    const found = { kind, ...(evidence ? { record: evidence.record } : {}), ...(differing.length > 0 ? { properties: differing } : {}) };
    if (!deep || !contentCanDecide(kind)) return { ...found, bytes: source.size };
    // Listings alone proved it in sync: one HEAD (no body) for the stored checksum, before reading any content.
    evidence ??= await head();
    const { record } = evidence;
    const blobSubject = `blob ${JSON.stringify(pair.name)}`;
    const blob = container.getBlobClient(pair.name);
    const stored = evidence.checksum;
    if (stored) {
      // S3 validated this checksum against the bytes it received when the object was written: recomputing
      // it from the blob proves the content without reading (or paying egress for) the object.
      const sourceDigest = await objectRequests(() =>
        requestFor('azure', 'digest', blobSubject, () => digestBlob({ blob, checksum: stored.algorithm, abortSignal })),
      );
      return {
        ...found,
        kind: classifyFromContent(kind, sourceDigest.checksum.value === stored.value && sourceDigest.bytes === target.size),
        record,
        bytes: sourceDigest.bytes,
        deepCheck: 'storedChecksum',
      };
    }
    const [sourceDigest, targetDigest] = await Promise.all([
      objectRequests(() => requestFor('azure', 'digest', blobSubject, () => digestBlob({ blob, abortSignal }))),
      objectRequests(() => requestFor('s3', 'digest', `s3://${bucket}/${key}`, () => digestObject({ s3, bucket, key, abortSignal }))),
    ]);
    return {
      ...found,
      kind: classifyFromDigests(kind, sourceDigest.md5Base64, targetDigest.md5Base64),
      record,
      bytes: sourceDigest.bytes + targetDigest.bytes,
      deepCheck: 'bothSides',
    };
  }

  /** The blob's properties the object does not hold, as far as this run's evidence goes (properties.ts). */
  function propertiesOf(source: SourceBlob, key: string, evidence: HeadEvidence): Promise<PropertyDifference[]> {
    const objectTags = async () =>
      Object.fromEntries(
        (
          (
            await objectRequests(() =>
              requestFor('s3', 'tags', `s3://${bucket}/${key}`, () =>
                s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }), { abortSignal }),
              ),
            )
          ).TagSet ?? []
        ).map((tag) => [tag.Key ?? '', tag.Value ?? '']),
      );
    return propertyDifferences({
      source,
      record: evidence.record,
      head: evidence.properties,
      storageClassByTier: options.storageClassByTier,
      objectTags: comparesProperties ? objectTags : undefined,
    });
  }

  /**
   * The key a name is backed up under. A name too long for any S3 key has no backup and cannot get one:
   * it is reported (missing) under the key it would have, and a repair refuses it with KeyTooLongError.
   */
  function keyOfPair(name: string): string {
    try {
      return keys.keyOf(name);
    } catch (error) {
      if (error instanceof KeyTooLongError) return error.key;
      throw error;
    }
  }

  async function classify(pair: ListedPair): Promise<Difference | undefined> {
    const key = keyOfPair(pair.name);
    const { source, target } = pair;
    const listedState = tracksListedState && source && target ? listedStateOf(source, target) : undefined;
    let difference: Difference;
    try {
      const evidence = await evidenceFor(pair, key, listedState);
      progress.bytes += evidence.bytes;
      counts[evidence.kind] += 1;
      if (evidence.deepCheck) deepChecks[evidence.deepCheck] += 1;
      if (evidence.kind === 'inSync') {
        if (listedState !== undefined && source && target) options.onInSync?.(pair.name, listedState, { source, target });
        return undefined;
      }
      difference = {
        key,
        kind: evidence.kind,
        source,
        target,
        ...(evidence.record ? { recorded: evidence.record } : {}),
        ...(evidence.kind === 'propertiesDiffer' && evidence.properties ? { properties: evidence.properties } : {}),
      };
    } catch (failure) {
      if (!(failure instanceof ObjectRequestFailed)) throw failure;
      progress.bytes += source?.size ?? target?.size ?? 0;
      counts.error += 1;
      difference = { key, kind: 'error', source, target, error: failure.detail };
    } finally {
      progress.objects += 1;
      options.onProgress?.(progress);
    }
    const repair = options.repair;
    if (repair) {
      // An enqueue waits for its batch message to fill: it must not hold an object-request slot meanwhile, or no
      // batch would outgrow the concurrency. Its queue requests are one per batch, and its `defer` checks (the
      // sweep's) are bounded by the window of pairs in flight.
      const slot = (run: () => Promise<RepairResult>) => (repair.viaQueue ? run() : objectRequests(run));
      difference.repair = await slot(() =>
        repairDifference({
          difference,
          container,
          s3,
          bucket,
          keys,
          ...(options.target.features ? { features: options.target.features } : {}),
          ...(options.storageClassByTier ? { storageClassByTier: options.storageClassByTier } : {}),
          ...repair,
          abortSignal,
        }),
      );
    }
    return difference;
  }

  if (options.listing?.settled && (options.deep || comparesProperties)) {
    throw new Error('reconcile: a listing that settles pairs itself cannot serve deep or properties runs, which check every pair');
  }
  try {
    const shards = options.listing
      ? await options.listing.shards(abortSignal)
      : await planShards({ container, target: { s3, bucket }, keys, prefix, properties: comparesProperties, abortSignal });
    const shardRuns = pLimit(SHARDS_IN_PARALLEL);
    await Promise.all(
      shards.map((shard) =>
        shardRuns(async () => {
          abortSignal.throwIfAborted();
          const pairs = mergeJoin(shard.sources(), shard.targets(), keys.nameOf);
          for await (const difference of mapInOrder(pairs, classify, window)) {
            if (!difference) continue;
            const repair = difference.repair;
            if (repair?.action === 'enqueue' && repair.status === 'done') enqueued += 1;
            else if (repair?.action === 'enqueue' && repair.status === 'skipped') alreadyQueued += 1;
            else if (repair?.status === 'done') repaired += 1;
            else remaining += 1;
            options.onDifference?.(difference);
          }
        }),
      ),
    );
  } catch (error) {
    stopAll.abort(error);
    throw error;
  }
  const settled = options.listing?.settled?.();
  if (settled) {
    counts.inSync += settled.inSync;
    progress.objects += settled.inSync;
    progress.bytes += settled.bytes;
    options.onProgress?.(progress);
  }
  return {
    ...counts,
    repaired,
    enqueued,
    alreadyQueued,
    remaining,
    ...(options.deep ? { deepChecks } : {}),
    durationMs: Math.round(performance.now() - started),
  };
}
