import type { DuckDBConnection } from '@duckdb/node-api';
import { InventoryReportError } from '../errors.js';
import type { LocalReport } from '../local-report.js';
import { parquetColumnOf } from '../s3/s3-manifest.js';
import { sqlIdentifier, sqlString } from './session.js';

// Each report becomes a view of the same shape, whatever its service and format:
//   azure_blobs(name, size, md5, etag, last_modified_ms, blob_type, access_tier)   name: the blob name in the container
//   s3_objects(name, size, etag, etag_is_md5, last_modified_ms)       name: the key less the key layout's root
// Rows of other containers, outside the prefix, and versions, snapshots, deleted blobs or delete markers
// are left out. Times are milliseconds since the epoch (UTC), whatever the file's type for them.

export interface ReportScope {
  /** The source container, as Azure's Name field starts ("<container>/<blob>"). */
  container: string;
  /** Blob names reconciled start with this. */
  prefix: string;
  /** The key of blob name n is `keyRoot + n`. */
  keyRoot: string;
}

/** The relation reading a report's files, with its columns' types (lower-cased names -> DuckDB type). */
async function relationOf(
  connection: DuckDBConnection,
  report: LocalReport,
  s3CsvColumns: string[] | undefined,
): Promise<{ from: string; types: Map<string, string> }> {
  const paths = `[${report.files.map((file) => sqlString(file.path)).join(', ')}]`;
  let from: string;
  if (report.format === 'parquet') from = `read_parquet(${paths}, union_by_name = true)`;
  else if (s3CsvColumns) {
    // S3's CSV has no header row: the manifest's fileSchema names its columns, in order. Every value is quoted.
    const columns = `{${s3CsvColumns.map((column) => `${sqlString(column)}: 'VARCHAR'`).join(', ')}}`;
    from = `read_csv(${paths}, header = false, columns = ${columns}, delim = ',', quote = '"', escape = '"', auto_detect = false, compression = 'gzip')`;
  } else from = `read_csv(${paths}, header = true, all_varchar = true, union_by_name = true)`;
  const described = await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
  const types = new Map<string, string>();
  for (const row of described.getRowObjectsJson()) types.set(String(row['column_name']).toLowerCase(), String(row['column_type']));
  return { from, types };
}

function requireColumns(report: LocalReport, types: Map<string, string>, columns: readonly string[]): void {
  const missing = columns.filter((column) => !types.has(column.toLowerCase()));
  if (missing.length === 0) return;
  throw new InventoryReportError(
    report.files[0]?.source ?? report.manifest,
    `has no column ${missing.join(', ')}, which its manifest lists and the join needs`,
    'The report files do not match their manifest: use a report the service wrote, unchanged.',
  );
}

/** An expression for a time column as epoch milliseconds, whatever the file stores it as. */
function epochMs(column: string, type: string | undefined): string {
  const value = sqlIdentifier(column);
  if (type === undefined || type === 'VARCHAR') {
    // ISO 8601 (with an offset or Z) as both services write it; RFC 1123 ("Wed, 26 May 2021 13:35:56 GMT") as Azure's REST API does.
    return `epoch_ms(coalesce(try_cast(${value} AS TIMESTAMPTZ), try_strptime(${value}, '%a, %d %b %Y %H:%M:%S GMT')::TIMESTAMPTZ))`;
  }
  if (type === 'BIGINT') return value;
  return `epoch_ms(${value})`;
}

function isTrue(column: string): string {
  return `lower(CAST(${sqlIdentifier(column)} AS VARCHAR)) = 'true'`;
}

/** Creates the view `azure_blobs` over an Azure Blob Inventory report. */
export async function createAzureView(connection: DuckDBConnection, report: LocalReport, scope: ReportScope): Promise<void> {
  const { from, types } = await relationOf(connection, report, undefined);
  // DuckDB matches column names case-insensitively, so Azure's "Etag" and "ETag" both answer to either.
  requireColumns(report, types, ['Name', 'Content-Length', 'Last-Modified', 'Content-MD5', 'ETag', 'BlobType', 'AccessTier']);
  const md5 =
    types.get('content-md5') === 'BLOB' ? `to_base64(${sqlIdentifier('Content-MD5')})` : `nullif(${sqlIdentifier('Content-MD5')}, '')`;
  const containerPrefix = `${scope.container}/`;
  const current = [
    types.has('iscurrentversion') ? `coalesce(${isTrue('IsCurrentVersion')}, true)` : undefined,
    types.has('snapshot') ? `coalesce(nullif(CAST(${sqlIdentifier('Snapshot')} AS VARCHAR), ''), 'null') = 'null'` : undefined,
    types.has('deleted') ? `NOT coalesce(${isTrue('Deleted')}, false)` : undefined,
  ].filter((condition): condition is string => condition !== undefined);
  await connection.run(`
    CREATE OR REPLACE VIEW azure_blobs AS
    SELECT substr("Name", ${containerPrefix.length + 1}) AS name,
           CAST("Content-Length" AS BIGINT) AS size,
           ${md5} AS md5,
           CAST("ETag" AS VARCHAR) AS etag,
           ${epochMs('Last-Modified', types.get('last-modified'))} AS last_modified_ms,
           CAST("BlobType" AS VARCHAR) AS blob_type,
           nullif(CAST("AccessTier" AS VARCHAR), '') AS access_tier
    FROM ${from}
    WHERE starts_with("Name", ${sqlString(containerPrefix + scope.prefix)})${current.map((condition) => ` AND ${condition}`).join('')}`);
}

/** Creates the view `s3_objects` over an S3 Inventory report. */
export async function createS3View(connection: DuckDBConnection, report: LocalReport, scope: ReportScope): Promise<void> {
  const csv = report.format === 'csv';
  const column = (field: string) => (csv ? field : parquetColumnOf(field));
  const { from, types } = await relationOf(connection, report, csv ? report.fields : undefined);
  requireColumns(report, types, ['Key', 'Size', 'LastModifiedDate', 'ETag', 'EncryptionStatus'].map(column));
  const id = (field: string) => sqlIdentifier(column(field));
  // CSV keys are URL-encoded with a space as "+" (a "+" itself is %2B); Parquet keys are as they are.
  const key = csv ? `url_decode(replace(${id('Key')}, '+', ' '))` : id('Key');
  const root = scope.keyRoot;
  const current = [
    types.has(column('IsLatest').toLowerCase()) ? `coalesce(${isTrue(column('IsLatest'))}, true)` : undefined,
    types.has(column('IsDeleteMarker').toLowerCase()) ? `NOT coalesce(${isTrue(column('IsDeleteMarker'))}, false)` : undefined,
  ].filter((condition): condition is string => condition !== undefined);
  await connection.run(`
    CREATE OR REPLACE VIEW s3_objects AS
    SELECT substr(key, length(${sqlString(root)}) + 1) AS name, size, etag, etag_is_md5, last_modified_ms
    FROM (
      SELECT ${key} AS key,
             CAST(${id('Size')} AS BIGINT) AS size,
             replace(CAST(${id('ETag')} AS VARCHAR), '"', '') AS etag,
             -- SSE-KMS, DSSE-KMS and SSE-C ETags are not the MD5 of the bytes, whatever their shape.
             upper(coalesce(CAST(${id('EncryptionStatus')} AS VARCHAR), '')) NOT IN ('SSE-KMS', 'DSSE-KMS', 'SSE-C') AS etag_is_md5,
             ${epochMs(column('LastModifiedDate'), types.get(column('LastModifiedDate').toLowerCase()))} AS last_modified_ms
      FROM ${from}
      ${current.length > 0 ? `WHERE ${current.join(' AND ')}` : ''}
    )
    WHERE starts_with(key, ${sqlString(root + scope.prefix)})`);
}
