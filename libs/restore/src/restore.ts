import type { S3Client } from '@aws-sdk/client-s3';
import { RestError, type BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { KeyMapping } from '@blobferry/transfer';
import pLimit from 'p-limit';
import { checkBucket, listingSetupError } from './bucket-checks.js';
import { ChecksumMismatchError, type ByteCheck } from './byte-check.js';
import { sourceTimeOf, stateAt } from './point-in-time.js';
import { completeProperties } from './properties-sidecar.js';
import { isReadable, readRecordedVersion, readVersionTags, type BlobType, type RecordedVersion } from './recorded-version.js';
import { RestoreSetupError } from './errors.js';
import { STAGING_FOLDER } from './staged-copy.js';
import { holdsVersion, prepareTarget, type TargetBlob } from './target.js';
import { blobTypeOf, TargetChangedError, type CopyPath } from './target-write.js';
import { listKeyHistories, type HistoryEntry, type KeyHistory } from './version-listing.js';
import { DEFAULT_BLOCK_BYTES, DEFAULT_SINGLE_SHOT_BYTES, writeBlob } from './write-blob.js';

/**
 * What the plan found for a name:
 * - `restore`: it existed at the point and the target lacks it (or, with overwrite, holds something else);
 * - `identical`: the target already holds that version (a rerun skips it);
 * - `createdAfter`: it did not exist yet at the point (skipped because newer);
 * - `deletedAtT`: its newest entry at the point is a delete marker (with includeDeleted it is restored instead);
 * - `archived`: the version is in GLACIER or DEEP_ARCHIVE with no restored copy to read;
 * - `extra`: at the target only: it did not exist at the point (a ransom note, a blob added since).
 */
export const RESTORE_KINDS = ['restore', 'identical', 'createdAfter', 'deletedAtT', 'archived', 'extra'] as const;
export type RestoreKind = (typeof RESTORE_KINDS)[number];

/** What happened: `planned` (dry run), `restored`, `skipped`, `conflict` (target changed after the plan), `checksumMismatch`, `failed`, `kept`/`removed` (extras). */
export type RestoreOutcome = 'planned' | 'restored' | 'skipped' | 'conflict' | 'checksumMismatch' | 'failed' | 'kept' | 'removed';

export interface RestoreItem {
  name: string;
  /** The S3 key (absent for extras). */
  key?: string;
  kind: RestoreKind;
  outcome: RestoreOutcome;
  /** The version restored or considered. */
  version?: { versionId: string; size: number; sourceLastModified: string | undefined; s3LastModified: string; blobType: BlobType };
  /**
   * Properties its backup put in a sidecar that cannot be found any more (`metadata`, `tags`): the blob is
   * restored (or found in place) without them.
   */
  missingProperties?: string[];
  /** How its bytes travelled and were checked (restored blobs). */
  path?: CopyPath;
  check?: ByteCheck;
  detail?: string;
}

export interface KindTotals {
  objects: number;
  bytes: number;
}

export interface RestoreSummary {
  target: string;
  asOf: string | undefined;
  dryRun: boolean;
  /** Per kind of the plan: how many names and their bytes. */
  plan: Record<RestoreKind, KindTotals>;
  restored: number;
  /** Restored blobs whose bytes were checked against a recorded checksum, and those with none to check. */
  verified: number;
  unverifiable: number;
  conflicts: number;
  checksumMismatches: number;
  failed: number;
  /**
   * Names whose backup put properties in a sidecar that cannot be found any more (expired, deleted): restored
   * (or found in place) without them, reported in `detail`.
   */
  incomplete: number;
  extrasRemoved: number;
  /** Bytes read from S3 by this process, and bytes Azure copied from S3 itself. */
  bytesStreamed: number;
  bytesServerSide: number;
  warnings: string[];
  /** Names left not as they were at the point: conflicts, mismatches, failures, unverifiable, incomplete, archived, extras kept. */
  remaining: number;
  durationMs: number;
}

export interface RestoreOptions {
  source: {
    s3: S3Client;
    bucket: string;
    /** The backup's key mapping of the source container (`keyMappingFor`). */
    keys: KeyMapping;
    /** Names that start with this (`--prefix`); '' for all. */
    prefix?: string;
    /** Exactly this name, never a prefix that also matches `name.bak`. */
    name?: string;
  };
  target: {
    container: ContainerClient;
    /** Restore over live data at the target, each write conditional on what the plan saw there. */
    overwrite?: boolean;
  };
  /** The restore point in the source's clock; undefined: the current backups. */
  asOf?: Date;
  /** Also restore names whose state (at the point) is deleted, at their last version before the delete. */
  includeDeleted?: boolean;
  /** Plan and report only: nothing is written. */
  dryRun?: boolean;
  /**
   * Remove extras (names at the target that did not exist at the point). Refused where a removed blob cannot be
   * recovered (`recoverable()` false: no soft delete) unless `unprotectedConfirmed` (a second confirmation, or --yes).
   */
  removeExtras?: { unprotectedConfirmed: boolean; recoverable: () => Promise<boolean> };
  /** Blobs in flight at once (default 16). */
  concurrency?: number;
  /** Where bytes may go S3 -> Azure directly (default true; false: everything streams through this process). */
  serverSide?: boolean;
  singleShotBytes?: number;
  blockBytes?: number;
  /** Blocks in flight per large blob (default 4). */
  blocksInFlight?: number;
  /** ListObjectVersions page size (default S3's 1,000). */
  pageSize?: number;
  abortSignal?: AbortSignal;
  /** Each name's item as it is decided or done; the restore waits for a promise it returns. */
  onItem?: (item: RestoreItem) => void | Promise<void>;
  now?: () => Date;
}

const emptyPlan = (): Record<RestoreKind, KindTotals> =>
  Object.fromEntries(RESTORE_KINDS.map((kind) => [kind, { objects: 0, bytes: 0 }])) as Record<RestoreKind, KindTotals>;

function describe(version: RecordedVersion): NonNullable<RestoreItem['version']> {
  return {
    versionId: version.versionId,
    size: version.size,
    sourceLastModified: version.sourceLastModified?.toISOString(),
    s3LastModified: version.s3LastModified.toISOString(),
    blobType: blobTypeOf(version),
  };
}

/**
 * Restores the backups of a container (or one name, or a prefix) into a target container, as of a point in the
 * source's clock. Checks first (permissions, versioning, the target), then lists every key's versions, decides
 * what each name was at the point, and writes what the target lacks, each blob checked against what the backup
 * recorded before it becomes visible. Idempotent: a rerun skips what the target already holds and finishes blobs
 * an interruption left staged.
 */
export async function restore(options: RestoreOptions): Promise<RestoreSummary> {
  const started = Date.now();
  const now = (options.now ?? (() => new Date()))();
  const { s3, bucket, keys } = options.source;
  const namePrefix = options.source.name ?? options.source.prefix ?? '';
  const keyPrefix = keys.keyOf(namePrefix);
  const exactKey = options.source.name === undefined ? undefined : keyPrefix;
  const abortSignal = options.abortSignal;
  if (options.asOf && options.asOf.getTime() > now.getTime()) {
    throw new RestoreSetupError(
      `--as-of ${options.asOf.toISOString()} is in the future: give a time at or before now (${now.toISOString()}).`,
    );
  }
  // The listing's first page comes before any write: a role that may not list versions stops the run here.
  const histories = listKeyHistories({ s3, bucket, prefix: keyPrefix, exactKey, pageSize: options.pageSize, abortSignal });
  let first: IteratorResult<KeyHistory>;
  try {
    first = await histories.next();
  } catch (error) {
    throw listingSetupError(error, bucket, keyPrefix) ?? error;
  }
  const warnings = await checkBucket({ s3, bucket, prefix: keyPrefix, asOf: options.asOf, now, abortSignal });
  const dryRun = options.dryRun ?? false;
  const container = options.target.container;
  const target = await prepareTarget({
    container,
    prefix: namePrefix,
    exactName: options.source.name,
    overwrite: options.target.overwrite ?? false,
    dryRun,
    abortSignal,
  });

  const summary: RestoreSummary = {
    target: `${container.url.split('?')[0]}/${namePrefix}`,
    asOf: options.asOf?.toISOString(),
    dryRun,
    plan: emptyPlan(),
    restored: 0,
    verified: 0,
    unverifiable: 0,
    conflicts: 0,
    checksumMismatches: 0,
    failed: 0,
    incomplete: 0,
    extrasRemoved: 0,
    bytesStreamed: 0,
    bytesServerSide: 0,
    warnings,
    remaining: 0,
    durationMs: 0,
  };
  const report = async (item: RestoreItem, bytes: number) => {
    const totals = summary.plan[item.kind];
    totals.objects += 1;
    totals.bytes += bytes;
    if (item.missingProperties) summary.incomplete += 1;
    const left =
      ['conflict', 'checksumMismatch', 'failed', 'kept'].includes(item.outcome) ||
      item.kind === 'archived' ||
      (item.outcome === 'restored' && item.check === 'unverifiable') ||
      item.missingProperties !== undefined;
    if (left) summary.remaining += 1;
    await options.onItem?.(item);
  };

  const seen = new Set<string>();
  const limit = pLimit(options.concurrency ?? 16);
  const inFlight = new Set<Promise<void>>();
  for (let next = first; !next.done; next = await histories.next()) {
    const history = next.value;
    // Sidecars share the key root with the `blob` layout; staging blobs are a restore's own, should a backup hold one.
    if (history.key.startsWith(keys.sidecarRoot)) continue;
    const name = keys.nameOf(history.key);
    if (name.startsWith(STAGING_FOLDER)) continue;
    seen.add(name);
    const targetBlob = target.blobs.get(name);
    const extra = targetBlob && (() => handleExtra({ options, container, name, blob: targetBlob, dryRun, report, summary }));
    const task = limit(() => restoreName({ options, summary, report, name, history, target: targetBlob, dryRun, extra }));
    inFlight.add(task);
    // Settled either way; a rejection is the caller's, through Promise.all below.
    task.then(
      () => inFlight.delete(task),
      () => inFlight.delete(task),
    );
    // Bounded: the listing waits while the blobs ahead of it are written.
    if (inFlight.size >= (options.concurrency ?? 16) * 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);

  for (const [name, blob] of target.blobs) {
    if (seen.has(name)) continue;
    await handleExtra({ options, container, name, blob, dryRun, report, summary });
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

interface RestoreNameContext {
  options: RestoreOptions;
  summary: RestoreSummary;
  report: (item: RestoreItem, bytes: number) => Promise<void>;
  name: string;
  history: { key: string; entries: HistoryEntry[] };
  target: TargetBlob | undefined;
  dryRun: boolean;
  /** Handles the target's blob of this name as an extra: the name did not exist at the point. */
  extra: (() => Promise<void>) | undefined;
}

async function restoreName(context: RestoreNameContext): Promise<void> {
  const { options, summary, report, name, history, target, dryRun, extra } = context;
  const { s3, bucket } = options.source;
  const abortSignal = options.abortSignal;
  const records = new Map<string, Promise<RecordedVersion>>();
  const recordOf = (entry: HistoryEntry) => {
    let record = records.get(entry.versionId);
    if (!record) {
      // A small blob the target lacks is read whole with its record: one request, as it is written next.
      const withBytes = !dryRun && target === undefined && entry.size <= (options.blockBytes ?? DEFAULT_BLOCK_BYTES);
      record = readRecordedVersion({ s3, bucket, key: history.key, versionId: entry.versionId, abortSignal, withBytes });
      records.set(entry.versionId, record);
    }
    return record;
  };
  const base = { name, key: history.key };
  try {
    const state = await stateAt(history, { asOf: options.asOf, recordOf });
    let version: RecordedVersion;
    if (state.state === 'absent') {
      await report({ ...base, kind: 'createdAfter', outcome: 'skipped' }, 0);
      await extra?.();
      return;
    }
    if (state.state === 'deleted') {
      if (!options.includeDeleted || !state.before) {
        await report(
          { ...base, kind: 'deletedAtT', outcome: 'skipped', detail: `deleted at ${state.deletedAt.toISOString()} (delete marker)` },
          state.before?.size ?? 0,
        );
        await extra?.();
        return;
      }
      version = state.before;
    } else version = state.version;

    if (!isReadable(version)) {
      await report(
        {
          ...base,
          version: describe(version),
          kind: 'archived',
          outcome: 'skipped',
          detail: `in ${version.storageClass}: restore it in S3 first (s3:RestoreObject, infra/aws-iam AllowRestoreFromArchive), then run again`,
        },
        version.size,
      );
      return;
    }
    const properties = await completeProperties({ s3, bucket, prefix: options.source.keys.prefix, version, abortSignal });
    version = properties.version;
    const described = {
      ...base,
      version: describe(version),
      ...(properties.missing.length > 0
        ? {
            missingProperties: properties.missing,
            detail: `its backup kept ${properties.missing.join(' and ')} in a properties sidecar that is gone (expired or deleted): restored without ${properties.missing.length > 1 ? 'them' : 'it'}`,
          }
        : {}),
    };
    if (target && (await holdsVersion(options.target.container, name, target, version, abortSignal))) {
      await report({ ...described, kind: 'identical', outcome: 'skipped' }, version.size);
      return;
    }
    if (dryRun) {
      await report(
        { detail: `as of ${sourceTimeOf(version).toISOString()}`, ...described, kind: 'restore', outcome: 'planned' },
        version.size,
      );
      return;
    }
    const objectTags =
      version.tagCount > 0 ? await readVersionTags({ s3, bucket, key: history.key, versionId: version.versionId, abortSignal }) : {};
    try {
      const written = await writeBlob({
        s3,
        bucket,
        version,
        tags: { ...objectTags, ...properties.sidecarTags },
        container: options.target.container,
        name,
        target: target && { etag: target.etag, blobType: target.blobType },
        rule: { serverSide: options.serverSide ?? true, singleShotBytes: options.singleShotBytes ?? DEFAULT_SINGLE_SHOT_BYTES },
        blockBytes: options.blockBytes ?? DEFAULT_BLOCK_BYTES,
        blocksInFlight: options.blocksInFlight ?? 4,
        abortSignal,
      });
      summary.restored += 1;
      if (written.check === 'unverifiable') summary.unverifiable += 1;
      else summary.verified += 1;
      if (written.path === 'server-side') summary.bytesServerSide += version.size;
      summary.bytesStreamed += written.bytesRead;
      await report({ ...described, kind: 'restore', outcome: 'restored', path: written.path, check: written.check }, version.size);
    } catch (error) {
      if (error instanceof TargetChangedError) {
        summary.conflicts += 1;
        await report({ ...described, kind: 'restore', outcome: 'conflict', detail: error.message }, version.size);
      } else if (error instanceof ChecksumMismatchError) {
        summary.checksumMismatches += 1;
        await report({ ...described, kind: 'restore', outcome: 'checksumMismatch', detail: error.message }, version.size);
      } else throw error;
    }
  } catch (error) {
    if (abortSignal?.aborted) throw error;
    summary.failed += 1;
    await report({ ...base, kind: 'restore', outcome: 'failed', detail: (error as Error).message }, 0);
  }
}

interface HandleExtraOptions {
  options: RestoreOptions;
  container: ContainerClient;
  name: string;
  blob: TargetBlob;
  dryRun: boolean;
  report: (item: RestoreItem, bytes: number) => Promise<void>;
  summary: RestoreSummary;
}

/** A name at the target that did not exist at the point: reported; removed only when asked, and only if recoverable or confirmed. */
async function handleExtra({ options, container, name, blob, dryRun, report, summary }: HandleExtraOptions): Promise<void> {
  const item = { name, kind: 'extra' as const };
  if (!options.removeExtras) {
    await report({ ...item, outcome: 'kept', detail: 'not in the restore point: removed only with --remove-extras' }, blob.size);
    return;
  }
  if (!options.removeExtras.unprotectedConfirmed && !(await options.removeExtras.recoverable())) {
    await report(
      { ...item, outcome: 'kept', detail: 'the account keeps no deleted blobs (soft delete off): confirm the removal, or pass --yes' },
      blob.size,
    );
    return;
  }
  if (dryRun) {
    await report({ ...item, outcome: 'planned' }, blob.size);
    return;
  }
  try {
    await container.getBlobClient(name).delete({ conditions: { ifMatch: blob.etag } });
    summary.extrasRemoved += 1;
    await report({ ...item, outcome: 'removed' }, blob.size);
  } catch (error) {
    const changed = error instanceof RestError && error.statusCode === 412;
    await report({ ...item, outcome: changed ? 'conflict' : 'failed', detail: (error as Error).message }, blob.size);
  }
}

/** Whether the account keeps deleted blobs (soft delete); unknown (no right to read the service properties) counts as no. */
export async function softDeleteEnabled(service: BlobServiceClient): Promise<boolean> {
  try {
    return (await service.getProperties()).deleteRetentionPolicy?.enabled === true;
  } catch {
    return false;
  }
}
