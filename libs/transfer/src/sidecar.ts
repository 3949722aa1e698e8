import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { stripQuotes } from './metadata.js';
import type { SidecarContent } from './object-properties.js';

// The properties sidecar: a small JSON object holding what did not fit on a backup object (blob metadata
// over S3's 2 KB, tags S3 refuses), at sidecarKeyFor(prefix, key). It is written before the object that
// names it (`source-sidecar`), so an object never points at a sidecar that does not exist yet, and it
// records the source version it belongs to: a sidecar left by an older version (the blob's metadata
// shrank since) is recognised as stale by restore and by its `sourceEtag`.

export interface SidecarDocument extends SidecarContent {
  blobferryProperties: 1;
  /** The backup object's key. */
  key: string;
  /** The source version (ETag, unquoted) whose properties these are. */
  sourceEtag: string;
}

export interface WriteSidecarOptions {
  s3: S3Client;
  bucket: string;
  sidecarKey: string;
  key: string;
  sourceEtag: string;
  content: SidecarContent;
  abortSignal: AbortSignal | undefined;
}

export async function writeSidecar(options: WriteSidecarOptions): Promise<void> {
  const document: SidecarDocument = {
    blobferryProperties: 1,
    key: options.key,
    sourceEtag: stripQuotes(options.sourceEtag),
    metadata: options.content.metadata,
    tags: options.content.tags,
  };
  await options.s3.send(
    new PutObjectCommand({
      Bucket: options.bucket,
      Key: options.sidecarKey,
      Body: JSON.stringify(document),
      ContentType: 'application/json',
    }),
    { abortSignal: options.abortSignal },
  );
}

export interface ReadSidecarOptions {
  s3: S3Client;
  bucket: string;
  sidecarKey: string;
  /** One version of the sidecar (s3:GetObjectVersion, what a restore role may read); default the current one. */
  versionId?: string;
  abortSignal?: AbortSignal;
}

/** The sidecar at `sidecarKey`, as written (restore reads back the version written with its object; tests compare it). */
export async function readSidecar(options: ReadSidecarOptions): Promise<SidecarDocument> {
  const request = { Bucket: options.bucket, Key: options.sidecarKey, ...(options.versionId ? { VersionId: options.versionId } : {}) };
  const response = await options.s3.send(new GetObjectCommand(request), {
    abortSignal: options.abortSignal,
  });
  return JSON.parse((await response.Body?.transformToString('utf8')) ?? '') as SidecarDocument;
}
