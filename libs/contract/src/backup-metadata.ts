/**
 * S3 user-metadata names (sent as `x-amz-meta-<name>`) that a backup writes, and that verify and restore
 * read back: the source version it holds (provenance), the blob's own properties S3 has no field for, and,
 * under `blob-`, the blob's own metadata.
 */
export const BACKUP_METADATA = {
  sourceEtag: 'source-etag',
  sourceLastModified: 'source-last-modified',
  sourceMd5: 'source-md5',
  sequencer: 'source-sequencer',
  /** `BlockBlob`, `AppendBlob` or `PageBlob`: what restore creates again. */
  blobType: 'source-blob-type',
  /** The blob's creation time (ISO 8601); a blob deleted and created again has a new one. */
  creationTime: 'source-creation-time',
  /** The blob's access tier (`Hot`, `Cool`, `Cold`, `Archive`) when it had one. */
  accessTier: 'source-access-tier',
  /**
   * The original spelling of the blob metadata names kept on the object that are not all lower case,
   * comma-separated (S3 lower-cases metadata names; Azure names are C# identifiers, so no comma occurs).
   */
  metadataNames: 'source-metadata-names',
  /**
   * Present when part of the blob's properties did not fit on the object (S3's 2 KB of user metadata, tags
   * S3 refuses): what went to the object's properties sidecar, e.g. `metadata,tags`.
   */
  sidecar: 'source-sidecar',
  blobMetadataPrefix: 'blob-',
} as const;
