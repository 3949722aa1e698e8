import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { decodeHeaderValue, fullObjectChecksumOf, recordedSourceOf, type FullObjectChecksumAlgorithm } from '@blobferry/transfer';

/** The blob's content headers as the backup kept them on the object. */
export interface ContentHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  contentDisposition?: string;
  cacheControl?: string;
}

export type BlobType = 'BlockBlob' | 'AppendBlob' | 'PageBlob';
const BLOB_TYPES: readonly BlobType[] = ['BlockBlob', 'AppendBlob', 'PageBlob'];

/** Everything one backed-up version says about the blob it holds: what a restore writes back, and checks against. */
export interface RecordedVersion {
  key: string;
  versionId: string;
  size: number;
  /** S3's time for the version: when the backup wrote it. */
  s3LastModified: Date;
  /** The blob's Last-Modified when it was backed up (`source-last-modified`): the version's place in the source's clock. */
  sourceLastModified: Date | undefined;
  sourceEtag: string | undefined;
  /** `source-md5`: base64 MD5 of the whole content (every single-part backup; multipart when the blob declared one). */
  md5Base64: string | undefined;
  /** The full-object CRC S3 stores and validated on upload (composite checksums are not full-object). */
  checksum: { algorithm: FullObjectChecksumAlgorithm; value: string } | undefined;
  sequencer: string | undefined;
  contentHeaders: ContentHeaders;
  /**
   * The blob's own metadata kept on the object (`blob-*`), decoded, under the names' original case where the
   * backup recorded it (`source-metadata-names`); never the `source-*` provenance keys. What did not fit on
   * the object is in its properties sidecar (`inSidecar`).
   */
  metadata: Record<string, string>;
  /** What the backup put in the object's properties sidecar (`source-sidecar`: `metadata`, `tags`); empty when nothing. */
  inSidecar: string[];
  /** S3's storage class; GLACIER and DEEP_ARCHIVE versions must be restored in S3 before they can be read. */
  storageClass: string | undefined;
  /** S3's `x-amz-restore` when a temporary copy of an archived version exists or is on its way. */
  archiveRestore: string | undefined;
  /** `source-blob-type`: what the restore creates again; undefined (an older backup) is written as a block blob. */
  blobType: BlobType | undefined;
  /** `source-access-tier` (`Hot`, `Cool`, `Cold`, `Archive`); undefined: the account's default tier. */
  accessTier: string | undefined;
  /** How many S3 object tags the version has (the blob's index tags): none means no tagging request. */
  tagCount: number;
  /** The bytes, when they were read with the record (a small blob: see readRecordedVersion). */
  bytes?: Buffer;
}

const CONTENT_HEADER_FIELDS = {
  contentType: 'ContentType',
  contentEncoding: 'ContentEncoding',
  contentLanguage: 'ContentLanguage',
  contentDisposition: 'ContentDisposition',
  cacheControl: 'CacheControl',
} as const satisfies Record<keyof ContentHeaders, keyof HeadObjectCommandOutput>;

export interface ReadRecordedVersionOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  versionId: string;
  abortSignal?: AbortSignal | undefined;
}

/**
 * HEADs one version (with its stored checksum) and reads what the backup recorded on it; with `withBytes`, a
 * GET instead, whose answer carries the same record and the bytes (`bytes`): for a small blob about to be
 * written, the one request the record needs anyway. An archived version (GET refused) falls back to the HEAD.
 */
export async function readRecordedVersion(options: ReadRecordedVersionOptions & { withBytes?: boolean }): Promise<RecordedVersion> {
  const request = { Bucket: options.bucket, Key: options.key, VersionId: options.versionId, ChecksumMode: 'ENABLED' as const };
  const sendOptions = options.abortSignal ? { abortSignal: options.abortSignal } : {};
  if (options.withBytes) {
    try {
      const object = await options.s3.send(new GetObjectCommand(request), sendOptions);
      const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
      return { ...recordOf(options, object), bytes };
    } catch (error) {
      if ((error as { name?: string }).name !== 'InvalidObjectState') throw error;
    }
  }
  return recordOf(options, await options.s3.send(new HeadObjectCommand(request), sendOptions));
}

/** The record from a HEAD's (or GET's) headers. */
function recordOf(options: ReadRecordedVersionOptions, head: HeadObjectCommandOutput): RecordedVersion {
  const recorded = recordedSourceOf(head.Metadata);
  const contentHeaders: ContentHeaders = {};
  for (const [field, headField] of Object.entries(CONTENT_HEADER_FIELDS) as [keyof ContentHeaders, keyof HeadObjectCommandOutput][]) {
    const value = head[headField];
    if (typeof value === 'string' && value !== '') contentHeaders[field] = decodeHeaderValue(value);
  }
  return {
    key: options.key,
    versionId: options.versionId,
    size: head.ContentLength ?? 0,
    s3LastModified: head.LastModified ?? new Date(0),
    sourceLastModified: recorded.lastModified,
    sourceEtag: recorded.etag,
    md5Base64: recorded.md5Base64,
    checksum: fullObjectChecksumOf(head),
    sequencer: recorded.sequencer,
    contentHeaders,
    metadata: recorded.metadata,
    inSidecar: recorded.inSidecar,
    storageClass: head.StorageClass,
    archiveRestore: head.Restore,
    blobType: BLOB_TYPES.find((type) => type === recorded.blobType),
    accessTier: recorded.accessTier,
    tagCount: head.TagCount ?? 0,
  };
}

/** The version's S3 object tags, which the backup keeps the blob's index tags in (GetObjectVersionTagging). */
export async function readVersionTags(options: ReadRecordedVersionOptions): Promise<Record<string, string>> {
  const tagging = await options.s3.send(
    new GetObjectTaggingCommand({ Bucket: options.bucket, Key: options.key, VersionId: options.versionId }),
    options.abortSignal ? { abortSignal: options.abortSignal } : {},
  );
  return Object.fromEntries((tagging.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

/** Whether the version can be read now: not in an archive class, or with a restored copy ready. */
export function isReadable(version: Pick<RecordedVersion, 'storageClass' | 'archiveRestore'>): boolean {
  if (version.storageClass !== 'GLACIER' && version.storageClass !== 'DEEP_ARCHIVE') return true;
  return version.archiveRestore?.includes('ongoing-request="false"') === true;
}
