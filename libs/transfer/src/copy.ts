import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompleteMultipartUploadCommandOutput,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { BlobClient } from '@azure/storage-blob';
import { MAX_S3_KEY_BYTES } from './backup-key.js';
import { ContentDigest, checksumField, checksumOf, md5Base64Of, type ChecksumAlgorithm } from './checksum.js';
import { combineChecksums } from './crc-combine.js';
import { ContentMd5MismatchError, KeyTooLongError, ObjectTooLargeError, PermanentTransferError, SourceChangedError, TargetChangedError } from './errors.js';
import { stripQuotes, targetHeadersFor } from './metadata.js';
import { pipelineParts, reusableBuffers, splitIntoParts, type PartRange } from './pipeline.js';
import { isConditionalWriteConflict, isRetryable } from './classify.js';
import { AMAZON_S3_FEATURES, checksumAlgorithmOf, explainRejection, type S3EndpointFeatures } from './s3-endpoint.js';
import { abortUpload, findResumableUpload, manifestOf, MANIFEST_PART_NUMBER, MAX_CONTENT_PARTS } from './resume.js';
import { readRange, readSourceSnapshot, readSourceSnapshotWithSmallBody, type SourceSnapshot } from './source.js';
import { judge, type TargetState, type Verdict } from './ordering.js';
import { headTarget, storedChecksum } from './target.js';

// Why a hand-written multipart loop rather than @aws-sdk/lib-storage's Upload: Upload consumes one body
// stream and decides itself when to call CompleteMultipartUpload. This copy needs (1) every part read
// as its own ETag-pinned range, so a mid-copy overwrite fails instead of mixing versions, (2) the whole
// content hashed in order while parts upload out of order, (3) a veto between the last part and
// Complete (MD5 check against Content-MD5, re-check that no newer source landed, conditional Complete),
// and (4) a full-object checksum handed to Complete. None of these fit Upload's hooks; the loop below
// (pipeline.ts + this file) is about as long as the glue Upload would need.

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
   * opened with getProperties rather than a ranged GET whose body would be thrown away.
   */
  source: { blob: BlobClient; sequencer?: string; lengthHint?: number };
  /**
   * Where the copy goes. `replace` names the one object (by its S3 ETag) the caller knows to be wrong
   * although it records this source version (a repair of a corrupt backup): that exact object is
   * overwritten, conditionally on still being it (If-Match, on endpoints that enforce conditional writes),
   * instead of being called up to date.
   * Any other object at the key is judged as usual. `features`: what the endpoint does with checksums
   * and conditional writes (default: Amazon S3's, see S3EndpointFeatures).
   */
  target: { s3: S3Client; bucket: string; key: string; replace?: { s3Etag: string }; features?: S3EndpointFeatures };
  /** Bytes per part (default 8 MiB, at least 5 MiB); grows so 10,000 parts cover the blob. Blobs up to this size take one PutObject. */
  partSize?: number;
  /** Parts read/uploaded at once (default 4). Memory is about partSize x concurrency. */
  concurrency?: number;
  abortSignal?: AbortSignal;
  /** Called after each part (or the single PutObject) reached S3. */
  onProgress?: (progress: { bytes: number; totalBytes: number }) => void;
}

export interface CopyResult {
  outcome: 'copied' | 'skipped-up-to-date' | 'skipped-newer-in-target';
  key: string;
  /** Bytes written to S3 by this call (0 when skipped). */
  bytes: number;
  /** 1 for a single PutObject, the part count for a multipart upload, 0 when skipped. */
  parts: number;
  /** Source ETag, without quotes (as stored in `source-etag`). */
  sourceEtag: string;
  /** MD5 of the content (computed while streaming; for up-to-date skips, the one recorded on the object). */
  md5Base64: string | undefined;
  /** Present only when the S3 endpoint echoed this exact checksum back, i.e. stored and checked it. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
  durationMs: number;
}

interface CopyContext {
  blob: BlobClient;
  sequencer: string | undefined;
  s3: S3Client;
  bucket: string;
  key: string;
  replaceS3Etag: string | undefined;
  snapshot: SourceSnapshot;
  features: S3EndpointFeatures;
  /** The target as the first HeadObject saw it, which the commit is conditional on; undefined when not read (a small blob created optimistically). */
  seen: TargetState | undefined;
  abortSignal: AbortSignal | undefined;
  onProgress: CopyBlobToS3Options['onProgress'];
  started: number;
}

/**
 * Copies one version of a blob to S3, verified, idempotent and order-safe: returns `skipped-up-to-date`
 * when the object already holds this ETag, `skipped-newer-in-target` when it holds a newer source, and
 * otherwise writes the object (one PutObject, or a multipart upload that is aborted on any failure).
 */
export async function copyBlobToS3(options: CopyBlobToS3Options): Promise<CopyResult> {
  const started = performance.now();
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new PermanentTransferError(`partSize must be a whole number of bytes between 5 MiB and 5 GiB (S3 part limits), got ${partSize}`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new PermanentTransferError(`concurrency must be a positive integer, got ${concurrency}`);
  const { blob } = options.source;
  const { s3, bucket, key } = options.target;
  const keyBytes = Buffer.byteLength(key, 'utf8');
  if (keyBytes > MAX_S3_KEY_BYTES) throw new KeyTooLongError(key, keyBytes);
  if (keyBytes === 0) throw new PermanentTransferError('target key is empty');
  const abortSignal = options.abortSignal;

  const features = options.target.features ?? AMAZON_S3_FEATURES;
  const replaceS3Etag = options.target.replace?.s3Etag;
  // A blob up to partSize arrives with its properties in one GET; a larger one costs that GET's headers
  // and continues in ETag-pinned parts. Where the endpoint enforces conditional writes, a small blob is
  // written without reading the target first: `If-None-Match: *` creates the key or fails with 412,
  // and only then is the target read and judged (a duplicate delivery pays one wasted PutObject body
  // for the request a fresh blob saves). Otherwise the target HEAD runs beside the source read.
  const announcedLarge = options.source.lengthHint !== undefined && options.source.lengthHint > partSize;
  const readSource = announcedLarge
    ? readSourceSnapshot(blob, abortSignal).then((snapshot) => ({ snapshot, body: undefined }))
    : readSourceSnapshotWithSmallBody(blob, partSize, abortSignal);
  const createOptimistically = features.conditionalWrites && replaceS3Etag === undefined && !announcedLarge;
  let source: Awaited<typeof readSource>;
  let target: TargetState | undefined;
  if (createOptimistically) {
    source = await readSource;
    if (source.snapshot.length > partSize) target = await headTarget(s3, bucket, key, abortSignal);
  } else {
    [source, target] = await Promise.all([readSource, headTarget(s3, bucket, key, abortSignal)]);
  }
  const { snapshot } = source;
  if (snapshot.length > MAX_OBJECT_SIZE) {
    throw new ObjectTooLargeError(`blob is ${snapshot.length} bytes, over S3's 5 TiB object limit`);
  }
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
  };

  if (target) {
    const verdict = verdictFor(context, target);
    if (verdict !== 'copy') return skipped(context, verdict, target.recorded?.md5Base64);
  }

  if (snapshot.length <= partSize) return putSingleObject(context, source.body);
  const grownPartSize = Math.max(partSize, Math.ceil(snapshot.length / MAX_CONTENT_PARTS / MiB) * MiB);
  return putMultipart(context, grownPartSize, concurrency);
}

function skipped(context: CopyContext, verdict: Exclude<Verdict, 'copy'>, recordedMd5: string | undefined): CopyResult {
  return {
    outcome: verdict,
    key: context.key,
    bytes: 0,
    parts: 0,
    sourceEtag: stripQuotes(context.snapshot.etag),
    md5Base64: verdict === 'skipped-up-to-date' ? recordedMd5 : undefined,
    durationMs: performance.now() - context.started,
  };
}

/** `judge`, except that the object the caller asked to replace is never up to date (see `target.replace`). */
function verdictFor(context: CopyContext, target: TargetState): Verdict {
  const verdict = judge(target, { ...context.snapshot, sequencer: context.sequencer });
  const replace = context.replaceS3Etag;
  const isReplaced = replace !== undefined && target.s3Etag !== undefined && stripQuotes(target.s3Etag) === stripQuotes(replace);
  return verdict === 'skipped-up-to-date' && isReplaced ? 'copy' : verdict;
}

type ConditionalHeaders = { IfMatch?: string; IfNoneMatch?: string };
type CommitOutcome<T> = { written: T } | { skipped: Exclude<Verdict, 'copy'>; recordedMd5: string | undefined };

/**
 * The ordering guard around the one request that makes content visible (PutObject or
 * CompleteMultipartUpload). Where the endpoint enforces conditional writes, the write is conditional on
 * the target being exactly what the first HeadObject saw (If-None-Match: * or If-Match: its ETag), or on
 * there being no object when the target was not read, so a newer copy that landed meanwhile makes it fail
 * with 412 and the target is judged again. Where the
 * endpoint ignores the conditions, the target is re-read right before the write instead, which catches a
 * newer copy that landed while we streamed but leaves the gap between that read and the write open.
 */
async function commitGuarded<T>(
  context: CopyContext,
  write: (conditions: ConditionalHeaders) => Promise<T>,
): Promise<CommitOutcome<T>> {
  const { s3, bucket, key, abortSignal, features } = context;
  if (!features.conditionalWrites) {
    const current = await headTarget(s3, bucket, key, abortSignal);
    const verdict = verdictFor(context, current);
    if (verdict !== 'copy') return { skipped: verdict, recordedMd5: current.recorded?.md5Base64 };
    try {
      return { written: await write({}) };
    } catch (error) {
      throw explainRejection(error, features, `s3://${bucket}/${key}`);
    }
  }
  // An unread target is assumed absent once; a 412 then reads it and the write is tried once more, on it.
  let seen = context.seen;
  for (let attempt = seen === undefined ? 2 : 1; ; attempt--) {
    const conditions: ConditionalHeaders = seen?.s3Etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: seen.s3Etag };
    try {
      return { written: await write(conditions) };
    } catch (error) {
      if (!isConditionalWriteConflict(error)) throw explainRejection(error, features, `s3://${bucket}/${key}`);
      seen = await headTarget(s3, bucket, key, abortSignal);
      const settled = verdictFor(context, seen);
      if (settled !== 'copy') return { skipped: settled, recordedMd5: seen.recorded?.md5Base64 };
      if (attempt <= 1) {
        throw new TargetChangedError(`s3://${bucket}/${key} was replaced by another writer during the copy; retry to re-evaluate`, { cause: error });
      }
    }
  }
}

/**
 * Signs the request without hashing its body (`x-amz-content-sha256: UNSIGNED-PAYLOAD`, which S3 accepts
 * for PutObject and UploadPart). For a Buffer body the SDK would otherwise SHA-256 every byte just for the
 * signature (about a second of CPU per GiB here), although S3 already checks the body against the
 * Content-MD5 and full-object checksum the copy sends, and TLS protects it on the way. Over a plain-http
 * endpoint (only the local cloud) the body is then guarded by those checksums, not by the signature.
 */
export function withUnsignedPayload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
  // The build step of either command's stack, typed once for both (their input types differ).
  type BuildArgs = { request: unknown };
  type BuildStack = { add(middleware: (next: (args: BuildArgs) => Promise<unknown>) => (args: BuildArgs) => Promise<unknown>, options: { step: 'build'; name: string }): void };
  (command.middlewareStack as unknown as BuildStack).add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'blobferryUnsignedPayload' },
  );
  return command;
}

function checksumFields(algorithm: ChecksumAlgorithm | undefined, value: string | undefined): Record<string, string> {
  return algorithm && value ? { [checksumField[algorithm]]: value } : {};
}

function echoedChecksum(response: object, algorithm: ChecksumAlgorithm | undefined, value: string | undefined): CopyResult['checksum'] {
  if (!algorithm || !value) return undefined;
  return (response as Record<string, unknown>)[checksumField[algorithm]] === value ? { algorithm, value } : undefined;
}

/** `readBody` is the content already read with the snapshot, when it was. */
async function putSingleObject(context: CopyContext, readBody: Buffer | undefined): Promise<CopyResult> {
  const { blob, snapshot, s3, bucket, key, abortSignal, features } = context;
  const body =
    readBody ??
    (snapshot.length === 0
      ? Buffer.alloc(0)
      : await readRange(blob, { offset: 0, count: snapshot.length, etag: snapshot.etag }, abortSignal));
  const md5Base64 = md5Base64Of(body);
  if (snapshot.contentMd5Base64 !== undefined && snapshot.contentMd5Base64 !== md5Base64) {
    throw new ContentMd5MismatchError(snapshot.contentMd5Base64, md5Base64);
  }
  const headers = targetHeadersFor(snapshot, md5Base64, context.sequencer);

  const algorithm = checksumAlgorithmOf(features);
  const checksumBase64 = algorithm ? await checksumOf(algorithm, body) : undefined;
  const outcome = await commitGuarded(context, async (conditions) => {
    const response = await s3.send(
      withUnsignedPayload(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          // S3 rejects the body if it does not hash to this: integrity on every endpoint.
          ContentMD5: md5Base64,
          ...headers,
          ...conditions,
          ...(algorithm ? { ChecksumAlgorithm: algorithm } : {}),
          ...checksumFields(algorithm, checksumBase64),
        }),
      ),
      { abortSignal },
    );
    return echoedChecksum(response, algorithm, checksumBase64);
  });
  if ('skipped' in outcome) return skipped(context, outcome.skipped, outcome.recordedMd5);
  context.onProgress?.({ bytes: body.length, totalBytes: body.length });
  return {
    outcome: 'copied',
    key,
    bytes: body.length,
    parts: 1,
    sourceEtag: stripQuotes(snapshot.etag),
    md5Base64,
    ...(outcome.written ? { checksum: outcome.written } : {}),
    durationMs: performance.now() - context.started,
  };
}

async function createUpload(context: CopyContext, headers: ReturnType<typeof targetHeadersFor>, algorithm: ChecksumAlgorithm | undefined): Promise<string> {
  const { s3, bucket, key, abortSignal, features } = context;
  try {
    const response = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ...headers,
        ...(algorithm ? { ChecksumAlgorithm: algorithm, ChecksumType: 'FULL_OBJECT' } : {}),
      }),
      { abortSignal },
    );
    if (!response.UploadId) throw new Error(`S3 returned no UploadId for s3://${bucket}/${key}`);
    return response.UploadId;
  } catch (error) {
    throw explainRejection(error, features, `s3://${bucket}/${key}`);
  }
}

async function uploadPart(
  context: CopyContext,
  uploadId: string,
  algorithm: ChecksumAlgorithm | undefined,
  partNumber: number,
  data: Buffer,
  abortSignal: AbortSignal | undefined,
): Promise<{ etag: string | undefined; checksumBase64: string | undefined; echoedChecksum: string | undefined }> {
  const { s3, bucket, key } = context;
  const checksumBase64 = algorithm ? await checksumOf(algorithm, data) : undefined;
  const response = await s3.send(
    withUnsignedPayload(
      new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: partNumber,
        Body: data,
        ContentLength: data.length,
        ...(algorithm ? { ChecksumAlgorithm: algorithm } : {}),
        ...checksumFields(algorithm, checksumBase64),
      }),
    ),
    { abortSignal },
  );
  return { etag: response.ETag, checksumBase64, echoedChecksum: algorithm ? response[checksumField[algorithm]] : undefined };
}

async function putMultipart(context: CopyContext, partSize: number, concurrency: number): Promise<CopyResult> {
  const { blob, snapshot, s3, bucket, key, abortSignal, features } = context;
  const algorithm = checksumAlgorithmOf(features);
  const parts = splitIntoParts(snapshot.length, partSize);
  // A part's buffer is read into again once its upload has succeeded; a failed part's is dropped (its
  // request may still hold it).
  const buffers = reusableBuffers(partSize);
  const read = (part: PartRange, signal: AbortSignal) =>
    buffers.readInto((buffer) => readRange(blob, { offset: part.offset, count: part.count, etag: snapshot.etag }, signal, buffer));

  // `source-md5` is user metadata, fixed by CreateMultipartUpload before the streamed MD5 exists, so it
  // is recorded only when known up front: the blob's declared Content-MD5 (the streamed MD5 must match
  // it before Complete, when this run read every part). Otherwise the full-object S3 checksum computed
  // while streaming guards the bytes, the MD5 is returned to the caller, and `blobferry verify --deep`
  // compares contents. Reading the blob twice to record it would double the Azure reads of every
  // block-uploaded blob, and a metadata rewrite after Complete would briefly show an object without it.
  const declaredMd5 = snapshot.contentMd5Base64;
  const headers = targetHeadersFor(snapshot, declaredMd5, context.sequencer);
  const manifest = manifestOf(key, snapshot, partSize);
  const resumable = await findResumableUpload(context, { manifest, parts, algorithm, abortSignal });
  const uploadId = resumable?.uploadId ?? (await createUpload(context, headers, algorithm));
  const kept = resumable?.kept ?? new Map<number, { etag: string; size: number; checksumBase64: string | undefined }>();
  // MD5 is fed in order; each part's CRC is computed once, sent with the part (so the SDK does not
  // compute it again) and combined into the full-object value (see crc-combine.ts). Kept parts are not
  // read again: their CRCs come from ListParts, and the whole-content MD5 is not known in this run.
  const digest = kept.size === 0 ? new ContentDigest() : undefined;
  const partChecksums: { checksumBase64: string; bytes: number }[] = [];
  const completedParts: CompletedPart[] = [];
  for (const [partNumber, part] of kept) {
    completedParts[partNumber - 1] = { PartNumber: partNumber, ETag: part.etag, ...(algorithm ? checksumFields(algorithm, part.checksumBase64) : {}) };
    if (part.checksumBase64 !== undefined) partChecksums[partNumber - 1] = { checksumBase64: part.checksumBase64, bytes: part.size };
  }
  let outcome: CommitOutcome<CompleteMultipartUploadCommandOutput>;
  let checksumBase64: string | undefined;
  let md5Base64: string | undefined;
  try {
    if (!resumable) await uploadPart(context, uploadId, algorithm, MANIFEST_PART_NUMBER, manifest, abortSignal);
    let uploadedBytes = [...kept.values()].reduce((sum, part) => sum + part.size, 0);
    await pipelineParts({
      parts: parts.filter((part) => !kept.has(part.partNumber)),
      concurrency,
      abortSignal,
      read,
      consumeInOrder: (_part, { data }) => digest?.update(data),
      process: async (part, { buffer, data }, signal) => {
        const uploaded = await uploadPart(context, uploadId, algorithm, part.partNumber, data, signal);
        if (uploaded.checksumBase64 !== undefined) partChecksums[part.partNumber - 1] = { checksumBase64: uploaded.checksumBase64, bytes: data.length };
        completedParts[part.partNumber - 1] = {
          PartNumber: part.partNumber,
          ETag: uploaded.etag,
          ...(algorithm ? checksumFields(algorithm, uploaded.echoedChecksum) : {}),
        };
        uploadedBytes += data.length;
        buffers.giveBack(buffer);
        context.onProgress?.({ bytes: uploadedBytes, totalBytes: snapshot.length });
      },
    });

    md5Base64 = digest?.finish().md5Base64;
    // Without every part's CRC (an endpoint that lists kept parts without theirs) the full-object value
    // is left to the endpoint, which computes it from the parts it verified on upload.
    const everyPartChecksum = parts.every((part) => partChecksums[part.partNumber - 1] !== undefined);
    checksumBase64 = algorithm && everyPartChecksum ? combineChecksums(algorithm, partChecksums) : undefined;
    if (declaredMd5 !== undefined && md5Base64 !== undefined && md5Base64 !== declaredMd5) throw new ContentMd5MismatchError(declaredMd5, md5Base64);

    outcome = await commitGuarded(
      context,
      (conditions) =>
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: completedParts },
            ...(algorithm ? { ChecksumType: 'FULL_OBJECT' } : {}),
            ...checksumFields(algorithm, checksumBase64),
            ...conditions,
          }),
          { abortSignal },
        ),
    );
  } catch (error) {
    // A failure that a later attempt can get past keeps the upload open, so that attempt resumes it;
    // anything else (another source version, bad content, an abort) discards its parts now.
    if (!isRetryable(error) || error instanceof SourceChangedError) await abortUpload(context, uploadId);
    throw error;
  }
  if ('skipped' in outcome) {
    await abortUpload(context, uploadId);
    return skipped(context, outcome.skipped, outcome.recordedMd5);
  }

  // The upload is complete and visible from here on.
  let checksum = echoedChecksum(outcome.written, algorithm, checksumBase64);
  if (algorithm && checksumBase64 && !checksum) {
    // Complete did not confirm our value (real S3 does): ask what the endpoint stored.
    const stored = await storedChecksum(s3, bucket, key, algorithm, abortSignal);
    // Another writer may have replaced our object since Complete: then the HEAD says nothing about ours.
    const stillOurs = stored.s3Etag === outcome.written.ETag;
    if (stored.value === checksumBase64) checksum = { algorithm, value: checksumBase64 };
    else if (stillOurs && stored.value !== undefined) {
      throw new PermanentTransferError(
        `s3://${bucket}/${key}: the endpoint stored full-object ${algorithm} ${stored.value}, not ${checksumBase64} as the parts combine to; every validating read of it will fail. ` +
          "The endpoint does not implement S3 full-object checksums (moto needs its awscrt package); fix the endpoint or declare its checksum feature 'none'.",
      );
    }
  }
  return {
    outcome: 'copied',
    key,
    bytes: snapshot.length,
    parts: parts.length,
    sourceEtag: stripQuotes(snapshot.etag),
    md5Base64,
    ...(checksum ? { checksum } : {}),
    durationMs: performance.now() - context.started,
  };
}
