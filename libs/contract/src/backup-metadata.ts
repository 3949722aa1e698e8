/**
 * S3 user-metadata names (sent as `x-amz-meta-<name>`) that a backup writes, and that verify and restore
 * read back: the source version it holds (provenance) and, under `blob-`, the blob's own metadata.
 */
export const BACKUP_METADATA = {
  sourceEtag: 'source-etag',
  sourceLastModified: 'source-last-modified',
  sourceMd5: 'source-md5',
  sequencer: 'source-sequencer',
  blobMetadataPrefix: 'blob-',
} as const;
