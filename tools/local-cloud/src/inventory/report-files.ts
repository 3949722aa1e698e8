import type { DuckDBConnection } from '@duckdb/node-api';

// The report files themselves, written by DuckDB in each service's column names and types as AWS and Microsoft
// document them. Each writer takes a SELECT whose columns are the report's fields under plain names (times as
// epoch milliseconds), so the emulators' contents and the bench's generated rows go through the same code.

export type ReportFileFormat = 'csv' | 'parquet';

function quoted(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Azure's fields, in the order this writer puts them (its rules' schemaFields). */
export const AZURE_REPORT_FIELDS = [
  'Name',
  'Creation-Time',
  'Last-Modified',
  'ETag',
  'Content-Length',
  'Content-Type',
  'Content-MD5',
  'BlobType',
  'AccessTier',
  'Metadata',
  'Tags',
] as const;

/**
 * Writes an Azure Blob Inventory file from `select`, whose columns are name, created_ms, last_modified_ms, etag,
 * size, content_type, md5 (base64), blob_type, access_tier, metadata, tags. Parquet stores times as
 * timestamp_millis; CSV has a header row and ISO 8601 UTC times to the 100 ns, as .NET writes them.
 */
export async function writeAzureReportFile(
  connection: DuckDBConnection,
  select: string,
  path: string,
  format: ReportFileFormat,
): Promise<void> {
  const time = (column: string) =>
    format === 'parquet' ? `epoch_ms(${column})::TIMESTAMP_MS` : `strftime(epoch_ms(${column}), '%Y-%m-%dT%H:%M:%S.%f') || '0Z'`;
  await connection.run(`
    COPY (
      SELECT name AS "Name", ${time('created_ms')} AS "Creation-Time", ${time('last_modified_ms')} AS "Last-Modified",
             etag AS "ETag", size::BIGINT AS "Content-Length", content_type AS "Content-Type", md5 AS "Content-MD5",
             blob_type AS "BlobType", access_tier AS "AccessTier", metadata AS "Metadata", tags AS "Tags"
      FROM (${select})
    ) TO ${quoted(path)} (FORMAT ${format}${format === 'csv' ? ', HEADER true' : ', COMPRESSION snappy'})`);
}

/** S3's fields for a current-versions inventory, in AWS's order; their Parquet columns are the snake_case forms. */
export const S3_REPORT_FIELDS = [
  'Bucket',
  'Key',
  'Size',
  'LastModifiedDate',
  'ETag',
  'StorageClass',
  'IsMultipartUploaded',
  'ReplicationStatus',
  'EncryptionStatus',
  'ChecksumAlgorithm',
] as const;

/** The Parquet message of S3_REPORT_FIELDS, as a manifest's fileSchema states it. */
export const S3_PARQUET_SCHEMA =
  'message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); optional int64 size; ' +
  'optional int64 last_modified_date (TIMESTAMP_MILLIS); optional binary e_tag (UTF8); optional binary storage_class (UTF8); ' +
  'optional boolean is_multipart_uploaded; optional binary replication_status (UTF8); optional binary encryption_status (UTF8); ' +
  'optional binary checksum_algorithm (UTF8); }';

/** Java's URLEncoder (space as "+", only A-Z a-z 0-9 . - * _ left as they are), from DuckDB's RFC 3986 url_encode. */
function formUrlEncoded(column: string): string {
  return `replace(replace(replace(url_encode(${column}), '~', '%7E'), '%2A', '*'), '%20', '+')`;
}

/**
 * Writes an S3 Inventory file from `select`, whose columns are bucket, key, size, last_modified_ms, etag,
 * storage_class, is_multipart, encryption_status, checksum_algorithm. CSV: no header, every value quoted,
 * keys URL-encoded, gzip; Parquet: keys as they are, times as TIMESTAMP_MILLIS, Snappy.
 */
export async function writeS3ReportFile(
  connection: DuckDBConnection,
  select: string,
  path: string,
  format: ReportFileFormat,
): Promise<void> {
  const csv = format === 'csv';
  const name = (field: string) => (csv ? `"${field}"` : field.replace(/(?<=[a-z])([A-Z])/g, '_$1').toLowerCase());
  await connection.run(`
    COPY (
      SELECT bucket AS ${name('Bucket')}, ${csv ? formUrlEncoded('key') : 'key'} AS ${name('Key')}, size::BIGINT AS ${name('Size')},
             ${csv ? `strftime(epoch_ms(last_modified_ms), '%Y-%m-%dT%H:%M:%S.%g') || 'Z'` : 'epoch_ms(last_modified_ms)::TIMESTAMP_MS'} AS ${name('LastModifiedDate')},
             etag AS ${csv ? '"ETag"' : 'e_tag'}, storage_class AS ${name('StorageClass')},
             ${csv ? `CASE WHEN is_multipart THEN 'true' ELSE 'false' END` : 'is_multipart'} AS ${name('IsMultipartUploaded')},
             ${csv ? `''` : 'NULL::VARCHAR'} AS ${name('ReplicationStatus')}, encryption_status AS ${name('EncryptionStatus')},
             checksum_algorithm AS ${name('ChecksumAlgorithm')}
      FROM (${select})
    ) TO ${quoted(path)} (FORMAT ${format}${csv ? ', HEADER false, FORCE_QUOTE *, COMPRESSION gzip' : ', COMPRESSION snappy'})`);
}
