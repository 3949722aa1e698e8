import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BACKUP_METADATA } from '@blobferry/contract';
import { checksumOf } from './checksum.js';
import { isConditionalWriteConflict } from './classify.js';
import {
  checksumFields,
  objectPropertiesOf,
  skipped,
  verdictFor,
  writeSidecarOf,
  type CopyContext,
  type CopyResult,
  type PropertyChange,
} from './copy-context.js';
import { digestBlob } from './digest.js';
import { TargetChangedError } from './errors.js';
import { stripQuotes } from './metadata.js';
import type { ObjectFields, ObjectProperties } from './object-properties.js';
import type { TargetObjectState, TargetState } from './ordering.js';
import { abortUpload } from './resume.js';
import { checksumAlgorithmOf } from './s3-endpoint.js';
import { sameRecord } from './records.js';
import { tagsOfTagSet } from './tags.js';

// Property-only changes: Set Blob Metadata and Set Blob Properties give a blob a new ETag without touching
// its bytes, Set Blob Tags and Set Blob Tier change neither. When the blob's bytes are shown equal to the
// object's, what differs is updated in place and the bytes are never uploaded again: tags with
// PutObjectTagging (no new object version), everything else with CopyObject onto itself (MetadataDirective
// REPLACE; UploadPartCopy above CopyObject's 5 GiB), conditional on the object still being the one judged.

/** CopyObject copies at most 5 GiB; a larger object is copied onto itself part by part. */
export const MAX_COPY_OBJECT_BYTES = 5 * 1024 * 1024 * 1024;
/** Part size of that copy (UploadPartCopy ranges). */
const COPY_PART_BYTES = 512 * 1024 * 1024;

/** S3 storage classes whose objects must be restored before they can be read, or copied in place. */
const ARCHIVED_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/**
 * What to do about the object a copy found at its key, before any byte is written: a finished result
 * (newer or up to date, properties updated in place, or an archived object that cannot be), or undefined:
 * write the bytes. `body` is the blob's content when the copy already holds it (a small blob).
 */
export async function settleTarget(context: CopyContext, target: TargetState, body?: Buffer): Promise<CopyResult | undefined> {
  const verdict = verdictFor(context, target);
  if (verdict === 'skipped-newer-in-target') return skipped(context, verdict, target.recorded?.md5Base64);
  const object = target.object;
  if (target.s3Etag === undefined || !object || !target.recorded) return undefined;
  const replaced = context.replaceS3Etag !== undefined && stripQuotes(context.replaceS3Etag) === stripQuotes(target.s3Etag);
  if (replaced) return undefined;
  const sameVersion = verdict === 'skipped-up-to-date';
  if (!sameVersion && !(await bytesShownEqual(context, target, object, body))) return undefined;

  // The recorded MD5 stands for the bytes, which are the object's.
  const md5Base64 = target.recorded.md5Base64 ?? context.snapshot.contentMd5Base64;
  const properties = await objectPropertiesOf(context, md5Base64);
  const changed = await changesBetween(context, target, object, properties, sameVersion);
  if (changed.length === 0) return skipped(context, 'skipped-up-to-date', target.recorded.md5Base64);

  const onlyTags = changed.every((change) => change === 'tags');
  const archived = ARCHIVED_CLASSES.has(object.storageClass);
  const sidecar = await writeSidecarOf(context, properties);
  if (onlyTags || archived) {
    if (changed.includes('tags')) await putTags(context, properties);
    return result(context, onlyTags ? 'properties-updated' : 'skipped-archived-in-target', changed, md5Base64, sidecar);
  }
  try {
    if (object.size > MAX_COPY_OBJECT_BYTES)
      await copyInPartsOntoItself({ ...context, fields: properties.fields, s3Etag: target.s3Etag, object });
    else await copyOntoItself(context, properties.fields, target.s3Etag);
  } catch (error) {
    if (!isConditionalWriteConflict(error)) throw error;
    throw new TargetChangedError(
      `s3://${context.bucket}/${context.key} was replaced while its properties were updated; retry to re-evaluate`,
      {
        cause: error,
      },
    );
  }
  return result(context, 'properties-updated', changed, md5Base64, sidecar);
}

function result(
  context: CopyContext,
  outcome: 'properties-updated' | 'skipped-archived-in-target',
  changed: PropertyChange[],
  md5Base64: string | undefined,
  sidecar: Pick<CopyResult, 'sidecar'>,
): CopyResult {
  return {
    outcome,
    key: context.key,
    bytes: 0,
    parts: 0,
    sourceEtag: stripQuotes(context.snapshot.etag),
    md5Base64,
    changed,
    ...sidecar,
    durationMs: performance.now() - context.started,
  };
}

/**
 * Whether another version of the blob holds the object's bytes: same size, and the blob's Content-MD5
 * equal to the recorded `source-md5`, or else the object's stored full-object CRC recomputed from the
 * blob (from the bytes in hand for a small blob, by reading the blob otherwise: Azure egress, but no
 * upload and no new object version). An archived blob cannot be read: only the MD5s can show it.
 */
async function bytesShownEqual(
  context: CopyContext,
  target: TargetState,
  object: TargetObjectState,
  body: Buffer | undefined,
): Promise<boolean> {
  const { snapshot } = context;
  if (object.size !== snapshot.length) return false;
  const recordedMd5 = target.recorded?.md5Base64;
  if (snapshot.contentMd5Base64 !== undefined && recordedMd5 !== undefined) return snapshot.contentMd5Base64 === recordedMd5;
  const stored = object.checksum;
  if (!stored || context.archived) return false;
  if (body) return (await checksumOf(stored.algorithm, body)) === stored.value;
  const digest = await digestBlob({
    blob: context.blob,
    checksum: stored.algorithm,
    ...(context.abortSignal ? { abortSignal: context.abortSignal } : {}),
  });
  // Another version read meanwhile proves nothing about this one: the bytes are copied.
  return digest.etag === snapshot.etag && digest.bytes === snapshot.length && digest.checksum.value === stored.value;
}

/**
 * Metadata entries that say which version the object holds rather than what the blob's properties are:
 * compared by the verdict, not here (an event's sequencer on an object a backfill wrote is no property change).
 */
const PROVENANCE: readonly string[] = [BACKUP_METADATA.sourceEtag, BACKUP_METADATA.sourceLastModified, BACKUP_METADATA.sequencer];

function propertiesOnly(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).filter(([name]) => !PROVENANCE.includes(name) && name !== BACKUP_METADATA.accessTier));
}

/**
 * What differs between the object and the blob's properties. Tags are compared only when either side has
 * some (the blob's x-ms-tag-count and the object's x-amz-tagging-count come with the reads the copy makes
 * anyway), so a blob without tags whose object has none costs no tag request.
 */
async function changesBetween(
  context: CopyContext,
  target: TargetState,
  object: TargetObjectState,
  properties: ObjectProperties,
  sameVersion: boolean,
): Promise<PropertyChange[]> {
  const changed: PropertyChange[] = [];
  if (!sameVersion) changed.push('source-version');
  const { fields } = properties;
  if (target.recorded?.accessTier !== context.snapshot.accessTier) changed.push('access-tier');
  if (!sameRecord(propertiesOnly(fields.Metadata), propertiesOnly(object.metadata))) changed.push('metadata');
  const headers = object.headers;
  // S3 gives an object written without a Content-Type a default one, so only a type the blob has is compared.
  if (
    (fields.ContentType !== undefined && fields.ContentType !== headers.ContentType) ||
    fields.ContentEncoding !== headers.ContentEncoding ||
    fields.ContentLanguage !== headers.ContentLanguage ||
    fields.ContentDisposition !== headers.ContentDisposition ||
    fields.CacheControl !== headers.CacheControl
  )
    changed.push('headers');
  if ((fields.StorageClass ?? 'STANDARD') !== object.storageClass) changed.push('storage-class');
  const wantedTags = properties.tags;
  if (Object.keys(wantedTags).length > 0 || object.tagCount > 0) {
    const heldTags =
      object.tagCount === 0
        ? {}
        : tagsOfTagSet(
            (
              await context.s3.send(new GetObjectTaggingCommand({ Bucket: context.bucket, Key: context.key }), {
                abortSignal: context.abortSignal,
              })
            ).TagSet,
          );
    if (!sameRecord(wantedTags, heldTags)) changed.push('tags');
  }
  return changed;
}

async function putTags(context: CopyContext, properties: ObjectProperties): Promise<void> {
  await context.s3.send(
    new PutObjectTaggingCommand({
      Bucket: context.bucket,
      Key: context.key,
      Tagging: { TagSet: Object.entries(properties.tags).map(([Key, Value]) => ({ Key, Value })) },
    }),
    { abortSignal: context.abortSignal },
  );
}

/** `bucket/key` as CopySource takes it: each path segment percent-encoded. */
function copySourceOf(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

async function copyOntoItself(context: CopyContext, fields: ObjectFields, s3Etag: string): Promise<void> {
  const algorithm = checksumAlgorithmOf(context.features);
  await context.s3.send(
    new CopyObjectCommand({
      Bucket: context.bucket,
      Key: context.key,
      CopySource: copySourceOf(context.bucket, context.key),
      CopySourceIfMatch: s3Etag,
      MetadataDirective: 'REPLACE',
      TaggingDirective: 'REPLACE',
      ...fields,
      // The copy keeps a full-object checksum for verify --deep to compare the blob with.
      ...(algorithm ? { ChecksumAlgorithm: algorithm } : {}),
    }),
    { abortSignal: context.abortSignal },
  );
}

export interface CopyInPartsOntoItselfOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  abortSignal: AbortSignal | undefined;
  fields: ObjectFields;
  /** The object judged: every part is copied from it (CopySourceIfMatch), and Complete is conditional on it. */
  s3Etag: string;
  object: TargetObjectState;
  /** Bytes per UploadPartCopy (default 512 MiB). */
  partBytes?: number;
}

/** An object over 5 GiB: a multipart upload of the new properties whose parts are UploadPartCopy ranges of itself. */
export async function copyInPartsOntoItself(options: CopyInPartsOntoItselfOptions): Promise<void> {
  const { s3, bucket, key, abortSignal, fields, s3Etag, object } = options;
  const partBytes = options.partBytes ?? COPY_PART_BYTES;
  const algorithm = object.checksum?.algorithm;
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ...fields,
      ...(algorithm ? { ChecksumAlgorithm: algorithm, ChecksumType: 'FULL_OBJECT' } : {}),
    }),
    { abortSignal },
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`S3 returned no UploadId for s3://${bucket}/${key}`);
  try {
    const parts: CompletedPart[] = [];
    for (let offset = 0, partNumber = 1; offset < object.size; offset += partBytes, partNumber++) {
      const end = Math.min(offset + partBytes, object.size) - 1;
      const copied = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          CopySource: copySourceOf(bucket, key),
          CopySourceIfMatch: s3Etag,
          CopySourceRange: `bytes=${offset}-${end}`,
        }),
        { abortSignal },
      );
      parts.push({
        PartNumber: partNumber,
        ETag: copied.CopyPartResult?.ETag,
        ...(algorithm
          ? checksumFields(algorithm, copied.CopyPartResult?.[algorithm === 'CRC32' ? 'ChecksumCRC32' : 'ChecksumCRC32C'])
          : {}),
      });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        // The bytes are the object's own: its full-object checksum stands for the copy too.
        ...(algorithm ? { ChecksumType: 'FULL_OBJECT', ...checksumFields(algorithm, object.checksum?.value) } : {}),
        IfMatch: s3Etag,
      }),
      { abortSignal },
    );
  } catch (error) {
    await abortUpload(options, uploadId);
    throw error;
  }
}
