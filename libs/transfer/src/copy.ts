import type { S3Client } from '@aws-sdk/client-s3';
import type { BlobClient } from '@azure/storage-blob';
import { MAX_S3_KEY_BYTES } from '@blobferry/contract';
import { sidecarKeyFor } from './backup-key.js';
import type { CopyContext, CopyResult, ProgressListener, StorageClassByTier } from './copy-context.js';
import { BlobArchivedError, KeyTooLongError, ObjectTooLargeError, PermanentTransferError } from './errors.js';
import { listedMetadataNames } from './metadata-names.js';
import { putMultipart } from './multipart.js';
import type { TargetState } from './ordering.js';
import { settleTarget } from './property-update.js';
import { putSingleObject } from './put-object.js';
import { MAX_CONTENT_PARTS } from './resume.js';
import { AMAZON_S3_FEATURES, type S3EndpointFeatures } from './s3-endpoint.js';
import { isBlobArchived, readSourceSnapshot, readSourceSnapshotWithSmallBody, withAccessTier, type SourceSnapshot } from './source.js';
import { headTarget } from './target.js';
import type { Tags } from './tags.js';

// The one entry of a copy: checks the request, reads the source (and the target, where it must be read
// first), judges it, and hands the write to put-object.ts (up to one part) or multipart.ts.

const MiB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;
const MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB;
export const DEFAULT_PART_SIZE = 8 * MiB;
export const DEFAULT_CONCURRENCY = 4;

export interface CopyBlobToS3Options {
  /**
   * The blob to copy (any credential) and, when the caller has them, its sequencer (Event Grid
   * `data.sequencer`) and announced size (`data.contentLength`). A blob announced larger than one part is
   * opened with getProperties rather than a ranged GET whose body would be thrown away. `metadataNames`:
   * the spelling of the blob's metadata names when the caller listed it (List Blobs keeps their case; Get
   * Blob's headers reach Node lower-cased), recorded so restore can give the names back their case; without
   * it, a blob with metadata is listed by the copy itself (one List Blobs of its name).
   */
  source: { blob: BlobClient; sequencer?: string; lengthHint?: number; metadataNames?: readonly string[] };
  /**
   * Where the copy goes. `replace` names the one object (by its S3 ETag) the caller knows to be wrong
   * although it records this source version (a repair of a corrupt backup): that exact object is
   * overwritten, conditionally on still being it (If-Match, on endpoints that enforce conditional writes),
   * instead of being called up to date.
   * Any other object at the key is judged as usual. `features`: what the endpoint does with checksums
   * and conditional writes (default: Amazon S3's, see S3EndpointFeatures). `prefix`: the backup prefix
   * `key` is under (the Function's BACKUP_PREFIX, the role's BucketPrefix; default none), where a
   * properties sidecar goes should the blob's metadata or tags not fit on the object.
   */
  target: {
    s3: S3Client;
    bucket: string;
    key: string;
    prefix?: string;
    /**
     * The caller saw an object at the key (a listing): the copy reads it first instead of trying to create
     * the key, so a repair whose bytes turn out equal sends no body at all.
     */
    exists?: boolean;
    replace?: { s3Etag: string };
    features?: S3EndpointFeatures;
  };
  /**
   * The S3 storage class for each access tier (the Function's STORAGE_CLASS_BY_TIER, e.g.
   * `{ Cool: 'STANDARD_IA', Archive: 'DEEP_ARCHIVE' }`); STANDARD for a tier it does not name, and for none.
   */
  storageClassByTier?: StorageClassByTier;
  /** Bytes per part (default 8 MiB, at least 5 MiB); grows so 10,000 parts cover the blob. Blobs up to this size take one PutObject. */
  partSize?: number;
  /** Parts read/uploaded at once (default 4). Memory is about partSize x concurrency. */
  concurrency?: number;
  abortSignal?: AbortSignal;
  /** Called after each part (or the single PutObject) reached S3. */
  onProgress?: ProgressListener;
}

/** The snapshot with its metadata names spelt as `names` spells them (case only). */
function spelled(snapshot: SourceSnapshot, names: readonly string[] | undefined): SourceSnapshot {
  if (!names || names.length === 0) return snapshot;
  const spelling = new Map(names.map((name) => [name.toLowerCase(), name]));
  const metadata = Object.fromEntries(
    Object.entries(snapshot.metadata).map(([name, value]) => [spelling.get(name.toLowerCase()) ?? name, value]),
  );
  return { ...snapshot, metadata };
}

/** The blob's index tags: one Get Blob Tags (Azure RBAC `.../blobs/tags/read`), only when x-ms-tag-count says it has any. */
async function readSourceTags(blob: BlobClient, snapshot: SourceSnapshot, abortSignal: AbortSignal | undefined): Promise<Tags> {
  if (snapshot.tagCount === 0) return {};
  return (await blob.getTags({ abortSignal })).tags;
}

/**
 * Copies one version of a blob to S3, verified, idempotent and order-safe: returns `skipped-up-to-date`
 * when the object already holds this ETag and its properties, `skipped-newer-in-target` when it holds a
 * newer source, `properties-updated` when only the blob's properties differ from the object's (updated in
 * place, the bytes never uploaded again), and otherwise writes the object (one PutObject, or a multipart
 * upload that is aborted on any failure). A blob in the Archive tier with no backup of its version fails
 * with BlobArchivedError (permanent).
 */
export async function copyBlobToS3(options: CopyBlobToS3Options): Promise<CopyResult> {
  const started = performance.now();
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new PermanentTransferError(`partSize must be a whole number of bytes between 5 MiB and 5 GiB (S3 part limits), got ${partSize}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new PermanentTransferError(`concurrency must be a positive integer, got ${concurrency}`);
  const { blob } = options.source;
  const { s3, bucket, key } = options.target;
  const prefix = options.target.prefix ?? '';
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_S3_KEY_BYTES) throw new KeyTooLongError(key, keyBytes);
  if (keyBytes === 0) throw new PermanentTransferError('target key is empty');
  if (!key.startsWith(prefix))
    throw new PermanentTransferError(`target key ${JSON.stringify(key)} is not under the prefix ${JSON.stringify(prefix)}`);
  const abortSignal = options.abortSignal;

  const features = options.target.features ?? AMAZON_S3_FEATURES;
  const replaceS3Etag = options.target.replace?.s3Etag;
  // A blob up to partSize arrives with its properties in one GET; a larger one costs that GET's headers
  // and continues in version-pinned parts. Where the endpoint enforces conditional writes, a small blob is
  // written without reading the target first: `If-None-Match: *` creates the key or fails with 412,
  // and only then is the target read and judged (a duplicate delivery pays one wasted PutObject body
  // for the request a fresh blob saves). Otherwise the target HEAD runs beside the source read.
  const announcedLarge = options.source.lengthHint !== undefined && options.source.lengthHint > partSize;
  const readSource = (
    announcedLarge
      ? readSourceSnapshot(blob, abortSignal).then((snapshot) => ({ snapshot, body: undefined }))
      : readSourceSnapshotWithSmallBody(blob, partSize, abortSignal)
  ).then(async (read) => ({ ...read, snapshot: await withAccessTier(blob, read.snapshot, abortSignal) }));
  const createOptimistically = features.conditionalWrites && replaceS3Etag === undefined && !announcedLarge && !options.target.exists;
  const readTarget = () => headTarget({ s3, bucket, key, abortSignal });
  let source: Awaited<typeof readSource> & { archived?: true };
  let target: TargetState | undefined;
  try {
    if (createOptimistically) {
      source = await readSource;
      if (source.snapshot.length > partSize) target = await readTarget();
    } else {
      [source, target] = await Promise.all([readSource, readTarget()]);
    }
  } catch (error) {
    if (!isBlobArchived(error)) throw error;
    // An Archive-tier blob cannot be read; its properties can, and a backup of this version may only lack a tier change.
    [source, target] = await Promise.all([
      readSourceSnapshot(blob, abortSignal).then((snapshot) => ({ snapshot, body: undefined, archived: true as const })),
      readTarget(),
    ]);
  }
  const metadataNames = options.source.metadataNames ?? (await listedMetadataNames(blob, source.snapshot, abortSignal));
  const snapshot = spelled(source.snapshot, metadataNames);
  if (snapshot.length > MAX_OBJECT_SIZE) {
    throw new ObjectTooLargeError(`blob is ${snapshot.length} bytes, over S3's 5 TiB object limit`);
  }
  let tags: Promise<Tags> | undefined;
  const context: CopyContext = {
    blob,
    sequencer: options.source.sequencer,
    s3,
    bucket,
    key,
    replaceS3Etag,
    snapshot,
    features,
    seen: target,
    abortSignal,
    onProgress: options.onProgress,
    started,
    storageClassByTier: options.storageClassByTier ?? {},
    sidecarKey: sidecarKeyFor({ prefix, key }),
    sourceTags: () => (tags ??= readSourceTags(blob, snapshot, abortSignal)),
    archived: source.archived === true,
  };

  const settled = target ? await settleTarget(context, target, source.body) : undefined;
  if (settled) return settled;
  if (context.archived) {
    throw new BlobArchivedError(
      `source blob ${blob.containerName}/${blob.name} is in the Archive tier and S3 holds no backup of this version (archived: rehydrate it, Set Blob Tier to Hot or Cool, to back it up)`,
    );
  }

  if (snapshot.length <= partSize) return putSingleObject(context, source.body);
  const grownPartSize = Math.max(partSize, Math.ceil(snapshot.length / MAX_CONTENT_PARTS / MiB) * MiB);
  return putMultipart(context, grownPartSize, concurrency);
}
