import type { DuckDBConnection } from '@duckdb/node-api';
import type { SourceBlob, TargetObject } from '@blobferry/reconcile';
import type { InventoryProgress } from '../local-report.js';
import { IN_SYNC_SQL } from './in-sync-rule.js';

// The full outer join of both reports on the blob name. Pairs in sync by the listing rule are only counted;
// the rest (the candidates: differences, and pairs whose digests cannot be compared) are kept in a table,
// read back in name order, which is UTF-8 byte order (DuckDB compares strings by their bytes), as
// reconcile's merge expects.
//
// DuckDB's hash join spills, but not all of its memory: what it keeps grows with the rows joined (measured with
// these views, 1.5.6, 2 threads: 10^7 names a side fail under 128 MB and pass under 192; 3 x 10^7 fail under 256
// and sometimes under 384). So the names are joined in passes, each over the names whose hash falls in its
// share, small enough for the memory limit whatever the estate's size; each pass reads the reports again.

/** Names a side per join pass by default: passes of 7.5 x 10^6 hold under 192 MB, half the default limit. */
export const DEFAULT_NAMES_PER_PASS = 8_000_000;

export interface JoinCounts {
  /** Pairs the reports prove in sync. */
  inSync: number;
  inSyncBytes: number;
  /** Names left for reconcile's classification. */
  candidates: number;
  /** Join passes made (see DEFAULT_NAMES_PER_PASS). */
  passes: number;
}

/** One candidate name as the two reports describe it (absent on the side whose report lacks it). */
export interface ReportPair {
  name: string;
  source: SourceBlob | undefined;
  target: TargetObject | undefined;
}

const CANDIDATE_COLUMNS = `
  coalesce(a.name, s.name) AS name,
  a.name IS NOT NULL AS in_azure, a.size AS a_size, a.md5 AS a_md5, a.etag AS a_etag,
  a.last_modified_ms AS a_last_modified_ms, a.blob_type AS a_blob_type, a.access_tier AS a_access_tier,
  s.name IS NOT NULL AS in_s3, s.size AS s_size, s.etag AS s_etag, s.etag_is_md5 AS s_etag_is_md5,
  s.last_modified_ms AS s_last_modified_ms`;

/**
 * Joins the views azure_blobs and s3_objects into the table `candidates`, in passes of at most `namesPerPass`
 * names a side, telling `onProgress` after each; returns the counts.
 */
export async function joinReports(
  connection: DuckDBConnection,
  namesPerPass = DEFAULT_NAMES_PER_PASS,
  onProgress?: (progress: InventoryProgress) => void,
): Promise<JoinCounts> {
  // One scan of each report at a time: a CSV scan holds buffers of tens of MB, and a small memory limit fits one.
  const firstRow = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjectsJson()[0] ?? {};
  const number = (value: unknown) => Number(value ?? 0);
  const side = await firstRow(`SELECT count(*) AS blobs, coalesce(sum(size), 0) AS bytes FROM azure_blobs`);
  const objects = number((await firstRow(`SELECT count(*) AS objects FROM s3_objects`))['objects']);
  const passes = Math.max(1, Math.ceil(Math.max(number(side['blobs']), objects) / namesPerPass));
  const share = (alias: string, view: string, pass: number) =>
    passes === 1 ? `${view} ${alias}` : `(SELECT * FROM ${view} WHERE hash(name) % ${passes} = ${pass}) ${alias}`;
  for (let pass = 0; pass < passes; pass++) {
    const joined = `
      SELECT ${CANDIDATE_COLUMNS}
      FROM ${share('a', 'azure_blobs', pass)} FULL OUTER JOIN ${share('s', 's3_objects', pass)} ON a.name = s.name
      WHERE a.name IS NULL OR s.name IS NULL OR NOT coalesce(${IN_SYNC_SQL}, false)`;
    await connection.run(pass === 0 ? `CREATE OR REPLACE TABLE candidates AS ${joined}` : `INSERT INTO candidates ${joined}`);
    onProgress?.({ phase: 'join', passes: pass + 1, of: passes });
  }
  // Every Azure row is in sync or a candidate, so the in-sync count needs no second join.
  const row = await firstRow(`
    SELECT count(*) AS candidates, count(*) FILTER (WHERE in_azure) AS candidate_blobs,
           coalesce(sum(a_size) FILTER (WHERE in_azure), 0) AS candidate_bytes
    FROM candidates`);
  return {
    inSync: number(side['blobs']) - number(row['candidate_blobs']),
    inSyncBytes: number(side['bytes']) - number(row['candidate_bytes']),
    candidates: number(row['candidates']),
    passes,
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

/**
 * The candidates in name order, one per name (Azure's reports may, rarely, list a blob twice: one of its rows is
 * kept). Sorted, not made distinct in DuckDB: a sort spills whole, a DISTINCT ON over wide rows does not.
 */
export async function* candidatePairs(connection: DuckDBConnection, keyRoot: string): AsyncGenerator<ReportPair> {
  const result = await connection.stream(`SELECT * FROM candidates ORDER BY name`);
  let previous: string | undefined;
  for await (const rows of result.yieldRowObjects()) {
    for (const row of rows) {
      const record = row as Record<string, unknown>;
      const name = String(record['name']);
      if (name === previous) continue;
      previous = name;
      yield { name, source: sourceOf(record), target: targetOf(record, keyRoot) };
    }
  }
}
