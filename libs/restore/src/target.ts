import type { BlobItem, ContainerClient } from '@azure/storage-blob';
import { digestBlob, sameRecord } from '@blobferry/transfer';
import { RestoreSetupError } from './errors.js';
import type { BlobType, ContentHeaders, RecordedVersion } from './recorded-version.js';
import { STAGING_FOLDER } from './staged-copy.js';
import { blobTypeOf } from './target-write.js';

/** A blob at the target as the plan listed it. */
export interface TargetBlob {
  etag: string;
  size: number;
  md5Base64: string | undefined;
  contentHeaders: ContentHeaders;
  /** Names as Azure spells them (List Blobs keeps their case). */
  metadata: Record<string, string>;
  blobType: BlobType;
  /** Block blobs' tier (`Hot` when inferred from the account's default); undefined for other types. */
  accessTier: string | undefined;
}

export interface PrepareTargetOptions {
  container: ContainerClient;
  /** Names the restore writes start with. */
  prefix: string;
  /** The restore writes this one name only: other names under the prefix (`name.bak`) are no business of it. */
  exactName?: string | undefined;
  overwrite: boolean;
  dryRun: boolean;
  abortSignal?: AbortSignal | undefined;
}

export interface PreparedTarget {
  /** The blobs already there under the prefix, by name. */
  blobs: Map<string, TargetBlob>;
  created: boolean;
}

function targetBlobOf(item: BlobItem): TargetBlob {
  const p = item.properties;
  const headers: ContentHeaders = {};
  if (p.contentType) headers.contentType = p.contentType;
  if (p.contentEncoding) headers.contentEncoding = p.contentEncoding;
  if (p.contentLanguage) headers.contentLanguage = p.contentLanguage;
  if (p.contentDisposition) headers.contentDisposition = p.contentDisposition;
  if (p.cacheControl) headers.cacheControl = p.cacheControl;
  return {
    etag: p.etag,
    size: p.contentLength ?? 0,
    md5Base64: p.contentMD5 ? Buffer.from(p.contentMD5).toString('base64') : undefined,
    contentHeaders: headers,
    metadata: item.metadata ?? {},
    blobType: p.blobType ?? 'BlockBlob',
    accessTier: p.accessTier,
  };
}

/**
 * The target container, created when missing (unless a dry run), and what it already holds under the prefix.
 * Live data there is refused unless `overwrite`: a restore never writes over blobs unasked.
 */
export async function prepareTarget(options: PrepareTargetOptions): Promise<PreparedTarget> {
  const { container } = options;
  let created = false;
  if (!(await container.exists(options.abortSignal ? { abortSignal: options.abortSignal } : {}))) {
    if (!options.dryRun) {
      try {
        await container.create(options.abortSignal ? { abortSignal: options.abortSignal } : {});
      } catch (error) {
        throw new RestoreSetupError(
          `The target container ${container.containerName} does not exist and could not be created (${(error as Error).message}): ` +
            'create it, or give the identity a role that may (Storage Blob Data Contributor on the account), or choose another --to.',
          { cause: error },
        );
      }
    }
    created = true;
    return { blobs: new Map(), created };
  }
  const blobs = new Map<string, TargetBlob>();
  for await (const item of container.listBlobsFlat({ prefix: options.prefix, includeMetadata: true })) {
    // A staging blob is a restore's own, left by an interrupted one (staged-copy.ts): neither live data nor an extra.
    if (item.name.startsWith(STAGING_FOLDER)) continue;
    if (options.exactName === undefined || item.name === options.exactName) blobs.set(item.name, targetBlobOf(item));
  }
  if (blobs.size > 0 && !options.overwrite) {
    throw new RestoreSetupError(
      `The target ${container.url.split('?')[0]}/${options.prefix} holds live data (${blobs.size} blob${blobs.size === 1 ? '' : 's'}). ` +
        'Restore into a new container (leave out --to, or name an empty one), or pass --overwrite to restore over it: each write is then conditional on the blob the plan saw.',
    );
  }
  return { blobs, created };
}

/**
 * Whether the target blob already is the version: the same blob type, tier (where the backup recorded one),
 * content headers and metadata (names in the same case), and the same bytes, by MD5 when both sides know it,
 * else by reading the target blob's CRC (Azure reads only, no S3 byte; an archived blob cannot be read, and is
 * not taken for the version). Index tags are not compared: reading them needs `blobs/tags/read`.
 */
export async function holdsVersion(
  container: ContainerClient,
  name: string,
  target: TargetBlob,
  version: RecordedVersion,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  if (target.size !== version.size || target.blobType !== blobTypeOf(version)) return false;
  if (version.accessTier !== undefined && target.blobType === 'BlockBlob' && target.accessTier !== version.accessTier) return false;
  if (!sameRecord(version.metadata, target.metadata)) return false;
  const headers = version.contentHeaders;
  const keys = new Set([...Object.keys(headers), ...Object.keys(target.contentHeaders)]) as Set<keyof ContentHeaders>;
  for (const key of keys) if ((headers[key] ?? '') !== (target.contentHeaders[key] ?? '')) return false;
  if (version.md5Base64 !== undefined && target.md5Base64 !== undefined) return version.md5Base64 === target.md5Base64;
  if (version.checksum === undefined || target.accessTier === 'Archive') return false;
  const digest = await digestBlob({
    blob: container.getBlobClient(name),
    checksum: version.checksum.algorithm,
    ...(abortSignal ? { abortSignal } : {}),
  });
  return digest.checksum.value === version.checksum.value && digest.etag === target.etag;
}
