import type { DuckDBConnection } from '@duckdb/node-api';
import type { SourceBlob, TargetObject } from '@blobferry/reconcile';
import { IN_SYNC_SQL } from './in-sync-rule.js';

// The full outer join of both reports on the blob name. Pairs in sync by the listing rule are only counted;
// the rest (the candidates: differences, and pairs whose digests cannot be compared) are kept in a table,
// read back in name order, which is UTF-8 byte order (DuckDB compares strings by their bytes), as
// reconcile's merge expects.

export interface JoinCounts {
  /** Pairs the reports prove in sync. */
  inSync: number;
  inSyncBytes: number;
  /** Names left for reconcile's classification. */
  candidates: number;
}

/** One candidate name as the two reports describe it (absent on the side whose report lacks it). */
export interface ReportPair {
  name: string;
  source: SourceBlob | undefined;
  target: TargetObject | undefined;
}

/** Joins the views azure_blobs and s3_objects into the table `candidates`; returns the counts. */
export async function joinReports(connection: DuckDBConnection): Promise<JoinCounts> {
  await connection.run(`
    CREATE OR REPLACE TABLE candidates AS
    SELECT coalesce(a.name, s.name) AS name,
           a.name IS NOT NULL AS in_azure, a.size AS a_size, a.md5 AS a_md5, a.etag AS a_etag,
           a.last_modified_ms AS a_last_modified_ms, a.blob_type AS a_blob_type, a.access_tier AS a_access_tier,
           s.name IS NOT NULL AS in_s3, s.size AS s_size, s.etag AS s_etag, s.etag_is_md5 AS s_etag_is_md5,
           s.last_modified_ms AS s_last_modified_ms
    FROM azure_blobs a FULL OUTER JOIN s3_objects s ON a.name = s.name
    WHERE a.name IS NULL OR s.name IS NULL OR NOT coalesce(${IN_SYNC_SQL}, false)`);
  // Every Azure row is in sync or a candidate, so the in-sync count needs no second join.
  const totals = await connection.runAndReadAll(`
    SELECT (SELECT count(*) FROM azure_blobs) AS blobs, (SELECT coalesce(sum(size), 0) FROM azure_blobs) AS bytes,
           count(*) AS candidates, count(*) FILTER (WHERE in_azure) AS candidate_blobs,
           coalesce(sum(a_size) FILTER (WHERE in_azure), 0) AS candidate_bytes
    FROM candidates`);
  const row = totals.getRowObjectsJson()[0] ?? {};
  const number = (value: unknown) => Number(value ?? 0);
  return {
    inSync: number(row['blobs']) - number(row['candidate_blobs']),
    inSyncBytes: number(row['bytes']) - number(row['candidate_bytes']),
    candidates: number(row['candidates']),
  };
}

function sourceOf(row: Record<string, unknown>): SourceBlob | undefined {
  if (row['in_azure'] !== true) return undefined;
  const blobType = row['a_blob_type'];
  const accessTier = row['a_access_tier'];
  return {
    name: String(row['name']),
    etag: String(row['a_etag'] ?? ''),
    size: Number(row['a_size']),
    md5Base64: row['a_md5'] === null || row['a_md5'] === undefined ? undefined : String(row['a_md5']),
    lastModified: new Date(Number(row['a_last_modified_ms'])),
    ...(typeof blobType === 'string' ? { blobType } : {}),
    ...(typeof accessTier === 'string' ? { accessTier } : {}),
  };
}

function targetOf(row: Record<string, unknown>, keyRoot: string): TargetObject | undefined {
  if (row['in_s3'] !== true) return undefined;
  return {
    key: keyRoot + String(row['name']),
    size: Number(row['s_size']),
    etag: String(row['s_etag'] ?? ''),
    lastModified: new Date(Number(row['s_last_modified_ms'])),
    etagIsMd5: row['s_etag_is_md5'] === true,
  };
}

/** The candidates in name order, one per name (Azure's reports may, rarely, list a blob twice). */
export async function* candidatePairs(connection: DuckDBConnection, keyRoot: string): AsyncGenerator<ReportPair> {
  const result = await connection.stream(`SELECT DISTINCT ON (name) * FROM candidates ORDER BY name`);
  for await (const rows of result.yieldRowObjects()) {
    for (const row of rows) {
      const record = row as Record<string, unknown>;
      yield { name: String(record['name']), source: sourceOf(record), target: targetOf(record, keyRoot) };
    }
  }
}
