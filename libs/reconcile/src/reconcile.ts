import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { BACKUP_METADATA, digestBlob, digestObject } from '@blobferry/transfer';
import pLimit from 'p-limit';
import { mergeJoin, type ListedPair } from '../listing/merge-join.js';
import type { SourceBlob } from '../listing/source-listing.js';
import type { TargetObject } from '../listing/target-listing.js';
import {
  classifyFromDigests,
  classifyFromListings,
  classifyWithRecord,
  type Classification,
  type DifferenceKind,
  type RecordedSource,
} from './classification.js';
import type { KeyMapping } from './key-mapping.js';
import { repairDifference, type RepairOptions, type RepairResult } from './repair.js';
import { mapInOrder } from './ordered-window.js';
import { planShards } from './shards.js';

export interface VerifyBackupOptions {
  source: { container: ContainerClient; prefix: string };
  target: { s3: S3Client; bucket: string };
  keys: KeyMapping;
  /** Hash both sides' bytes for every pair present on both sides. */
  deep?: boolean;
  /** Object requests (HEAD, digests, copies) in flight at once. */
  concurrency?: number;
  /** Mend what differs (here, or through the backup queue); `dryRun` only says what it would do. */
  repair?: RepairOptions;
  onDifference?: (difference: Difference) => void;
  onProgress?: (progress: VerifyProgress) => void;
  abortSignal?: AbortSignal;
}

export interface VerifyProgress {
  objects: number;
  bytes: number;
}

export interface Difference {
  /** The S3 key (key layout root + blob name). */
  key: string;
  kind: DifferenceKind;
  source: SourceBlob | undefined;
  target: (TargetObject & Partial<RecordedSource>) | undefined;
  repair?: RepairResult;
}

export type VerifyCounts = Record<Classification, number>;

export interface VerifySummary extends VerifyCounts {
  repaired: number;
  /** Messages written to the backup queue (`--via-queue`, backfill). */
  enqueued: number;
  /** Differences whose message from an earlier run is still queued (not enqueued again). */
  alreadyQueued: number;
  /** Differences still there after the run (all of them without `--repair`). */
  remaining: number;
  durationMs: number;
}

const SHARDS_IN_PARALLEL = 4;

async function readRecord(s3: S3Client, bucket: string, key: string, abortSignal?: AbortSignal): Promise<RecordedSource> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), { abortSignal });
  const metadata = head.Metadata ?? {};
  return { sourceEtag: metadata[BACKUP_METADATA.sourceEtag], sourceMd5Base64: metadata[BACKUP_METADATA.sourceMd5] };
}

/**
 * Reconciles the container (under `prefix`) with its backup: both sides listed as sorted streams per
 * shard and merge-joined, each name classified with as little I/O as the evidence allows, and, when
 * asked, repaired. Differences are reported as they are found; the summary counts everything.
 */
export async function verifyBackup(options: VerifyBackupOptions): Promise<VerifySummary> {
  const started = performance.now();
  const { container } = options.source;
  const { s3, bucket } = options.target;
  const { keys } = options;
  // One failing shard stops the others instead of leaving their requests running.
  const stopAll = new AbortController();
  const abortSignal = options.abortSignal ? AbortSignal.any([options.abortSignal, stopAll.signal]) : stopAll.signal;
  const concurrency = options.concurrency ?? 16;
  const objectRequests = pLimit(concurrency);
  const counts: VerifyCounts = {
    inSync: 0, missing: 0, extra: 0, sizeMismatch: 0, checksumMismatch: 0, stale: 0, unverifiable: 0,
  };
  const progress: VerifyProgress = { objects: 0, bytes: 0 };
  let repaired = 0;
  let enqueued = 0;
  let alreadyQueued = 0;
  let remaining = 0;

  async function classify(pair: ListedPair): Promise<Difference | undefined> {
    const key = keys.keyOf(pair.name);
    const { source, target } = pair;
    let record: RecordedSource | undefined;
    let kind = classifyFromListings(source, target);
    if (kind === 'needsHead' && source && target) {
      record = await objectRequests(() => readRecord(s3, bucket, key, abortSignal));
      kind = classifyWithRecord(source, target, record);
    }
    if (options.deep && source && target && kind !== 'needsHead') {
      const shallow: Classification = kind;
      const [sourceDigest, targetDigest] = await Promise.all([
        objectRequests(() => digestBlob({ blob: container.getBlobClient(pair.name), abortSignal })),
        objectRequests(() => digestObject({ s3, bucket, key, abortSignal })),
      ]);
      kind = classifyFromDigests(shallow, sourceDigest.md5Base64, targetDigest.md5Base64);
      progress.bytes += sourceDigest.bytes + targetDigest.bytes;
    } else {
      progress.bytes += source?.size ?? target?.size ?? 0;
    }
    if (kind === 'needsHead') throw new Error(`unreachable: ${key} left unclassified`);
    progress.objects += 1;
    counts[kind] += 1;
    options.onProgress?.(progress);
    if (kind === 'inSync') return undefined;
    const difference: Difference = { key, kind, source, target: target && { ...target, ...record } };
    const repair = options.repair;
    if (repair) {
      difference.repair = await objectRequests(() => repairDifference({ difference, container, s3, bucket, ...repair, abortSignal }));
    }
    return difference;
  }

  const shards = await planShards({ container, target: { s3, bucket }, keys, prefix: options.source.prefix, abortSignal });
  const shardRuns = pLimit(SHARDS_IN_PARALLEL);
  try {
    await Promise.all(
      shards.map((shard) =>
        shardRuns(async () => {
          abortSignal.throwIfAborted();
          const pairs = mergeJoin(shard.sources(), shard.targets(), keys.nameOf);
          for await (const difference of mapInOrder(pairs, classify, concurrency * 4)) {
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
  return { ...counts, repaired, enqueued, alreadyQueued, remaining, durationMs: Math.round(performance.now() - started) };
}
