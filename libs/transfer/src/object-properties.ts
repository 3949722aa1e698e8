import { BACKUP_METADATA, type StorageClass } from '@blobferry/contract';
import { encodeHeaderValue, stripQuotes } from './metadata.js';
import type { SourceSnapshot } from './source.js';
import { s3TagsOf, taggingHeaderOf, type Tags } from './tags.js';

// Everything an object carries besides its bytes, planned once for every write (PutObject,
// CreateMultipartUpload, CopyObject in place): the provenance metadata, the blob's own metadata and
// headers, its index tags and the storage class its tier maps to. S3 keeps 2 KB of user metadata and
// refuses tag keys starting with `aws:`; what does not fit goes to the object's properties sidecar
// (sidecar.ts), never failing the copy.

/** S3's limit on user metadata: the UTF-8 bytes of every name and value, summed. */
export const MAX_USER_METADATA_BYTES = 2048;

export interface ObjectPropertiesOptions {
  snapshot: SourceSnapshot;
  /** The recorded `source-md5`, when known before the write. */
  md5Base64: string | undefined;
  sequencer: string | undefined;
  /** The blob's index tags. */
  tags: Tags;
  storageClass: StorageClass;
}

/** What a write sends: the request fields PutObject, CreateMultipartUpload and CopyObject share. */
export interface ObjectFields {
  Metadata: Record<string, string>;
  ContentType?: string | undefined;
  ContentEncoding?: string | undefined;
  ContentLanguage?: string | undefined;
  ContentDisposition?: string | undefined;
  CacheControl?: string | undefined;
  /** Absent for STANDARD, S3's default (a HEAD then reports no class). */
  StorageClass?: StorageClass;
  Tagging?: string;
}

/** What did not fit on the object: blob metadata under its original names, and the tags S3 refuses. */
export interface SidecarContent {
  metadata: Record<string, string>;
  tags: Tags;
}

export interface ObjectProperties {
  fields: ObjectFields;
  /** The tags written on the object. */
  tags: Tags;
  sidecar: SidecarContent | undefined;
}

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');
const entryBytes = (metadata: Record<string, string>) =>
  Object.entries(metadata).reduce((sum, [name, value]) => sum + byteLength(name) + byteLength(value), 0);

/**
 * The object's fields, and the sidecar's content when something does not fit. The provenance entries
 * always fit; the blob's metadata entries are kept in name order while they fit in what is left of the 2 KB
 * (with room kept for the `source-sidecar` marker), and the rest goes to the sidecar.
 */
export function planObjectProperties(options: ObjectPropertiesOptions): ObjectProperties {
  const { snapshot } = options;
  const metadata: Record<string, string> = {};
  metadata[BACKUP_METADATA.sourceEtag] = stripQuotes(snapshot.etag);
  metadata[BACKUP_METADATA.sourceLastModified] = snapshot.lastModified.toISOString();
  if (options.md5Base64 !== undefined) metadata[BACKUP_METADATA.sourceMd5] = options.md5Base64;
  if (options.sequencer !== undefined) metadata[BACKUP_METADATA.sequencer] = encodeHeaderValue(options.sequencer);
  if (snapshot.blobType !== undefined) metadata[BACKUP_METADATA.blobType] = snapshot.blobType;
  if (snapshot.createdOn !== undefined) metadata[BACKUP_METADATA.creationTime] = snapshot.createdOn.toISOString();
  if (snapshot.accessTier !== undefined) metadata[BACKUP_METADATA.accessTier] = encodeHeaderValue(snapshot.accessTier);

  const sidecarMarker = 'metadata,tags';
  let left = MAX_USER_METADATA_BYTES - entryBytes(metadata) - byteLength(BACKUP_METADATA.sidecar) - sidecarMarker.length;
  const casedNames: string[] = [];
  const overflow: Record<string, string> = {};
  for (const name of Object.keys(snapshot.metadata).toSorted()) {
    const value = snapshot.metadata[name] ?? '';
    const lowered = name.toLowerCase();
    const entry = byteLength(BACKUP_METADATA.blobMetadataPrefix + lowered) + byteLength(encodeHeaderValue(value));
    // A name that is not all lower case also costs its spelling in `source-metadata-names`.
    const spelling = name === lowered ? 0 : byteLength(name) + (casedNames.length === 0 ? byteLength(BACKUP_METADATA.metadataNames) : 1);
    if (entry + spelling > left) {
      overflow[name] = value;
      continue;
    }
    left -= entry + spelling;
    metadata[BACKUP_METADATA.blobMetadataPrefix + lowered] = encodeHeaderValue(value);
    if (spelling > 0) casedNames.push(name);
  }
  if (casedNames.length > 0) metadata[BACKUP_METADATA.metadataNames] = casedNames.join(',');

  const { mapped, unmapped } = s3TagsOf(options.tags);
  const inSidecar = [Object.keys(overflow).length > 0 ? 'metadata' : '', Object.keys(unmapped).length > 0 ? 'tags' : ''].filter(Boolean);
  if (inSidecar.length > 0) metadata[BACKUP_METADATA.sidecar] = inSidecar.join(',');

  const optional = (value: string | undefined) => (value === undefined || value === '' ? undefined : encodeHeaderValue(value));
  const tagging = taggingHeaderOf(mapped);
  return {
    fields: {
      Metadata: metadata,
      ContentType: optional(snapshot.contentType),
      ContentEncoding: optional(snapshot.contentEncoding),
      ContentLanguage: optional(snapshot.contentLanguage),
      ContentDisposition: optional(snapshot.contentDisposition),
      CacheControl: optional(snapshot.cacheControl),
      ...(options.storageClass === 'STANDARD' ? {} : { StorageClass: options.storageClass }),
      ...(tagging === undefined ? {} : { Tagging: tagging }),
    },
    tags: mapped,
    sidecar: inSidecar.length > 0 ? { metadata: overflow, tags: unmapped } : undefined,
  };
}
