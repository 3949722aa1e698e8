import { classifyFromListings, type Classification } from '@blobferry/reconcile';
import type { InventoryProgress, LocalReport } from '../local-report.js';
import { createAzureView, createS3View, type ReportScope } from '../duckdb/report-views.js';
import { openDuckDb, type DuckDbSession } from '../duckdb/session.js';
import { candidatePairs, joinReports, type JoinCounts, type ReportPair } from './report-join.js';

/** How long a blob change normally takes to reach S3 by default (the event path's lag, with room). */
export const DEFAULT_COPY_LAG_MS = 15 * 60_000;

export interface JoinInventoryReportsOptions {
  azure: LocalReport;
  s3: LocalReport;
  scope: ReportScope;
  /** Where DuckDB spills. */
  spillDirectory: string;
  memoryLimitMiB?: number;
  threads?: number;
  /** Names a side per join pass (default 8 x 10^6, for the default memory limit): lower it with the limit. */
  namesPerPass?: number;
  /** Told after each join pass. */
  onProgress?: (progress: InventoryProgress) => void;
  /** How long a blob change may take to reach S3: a blob changed this close to the S3 report may be copied since. */
  copyLagMs?: number;
}

/** A name the reports do not prove in sync, with what they say of it. */
export interface ReportDifference extends ReportPair {
  /**
   * reconcile's classification of the reports' evidence: a difference they decide, or 'needsHead' when only a
   * live check (HEAD for the recorded source version) can tell, because no two digests compare.
   */
  verdict: Classification | 'needsHead';
  /**
   * A report is older than the live state of this name: the blob changed after (or just before) the S3 report
   * began, or the object after the Azure report did, so either side may have moved since. Read live before
   * anything is classified or repaired.
   */
  reportOlderThanLive: boolean;
}

export interface InventoryJoin {
  azure: LocalReport;
  s3: LocalReport;
  counts: JoinCounts;
  /** Every name the reports do not prove in sync, in UTF-8 order; each call reads them anew. */
  differences(): AsyncGenerator<ReportDifference>;
  close(): void;
}

function isReportOlderThanLive(pair: ReportPair, azure: LocalReport, s3: LocalReport, copyLagMs: number): boolean {
  const blobChangedLate = pair.source !== undefined && pair.source.lastModified.getTime() > s3.startedAt.getTime() - copyLagMs;
  const objectChangedLate = pair.target !== undefined && pair.target.lastModified.getTime() > azure.startedAt.getTime();
  return blobChangedLate || objectChangedLate;
}

/**
 * Joins an Azure Blob Inventory report and an S3 Inventory report in DuckDB, under a memory limit and spilling
 * to disk beyond it, so memory stays flat whatever the number of rows. Only names the reports do not prove in
 * sync come back to JavaScript.
 */
export async function joinInventoryReports(options: JoinInventoryReportsOptions): Promise<InventoryJoin> {
  const { azure, s3, scope } = options;
  const copyLagMs = options.copyLagMs ?? DEFAULT_COPY_LAG_MS;
  const session: DuckDbSession = await openDuckDb({
    spillDirectory: options.spillDirectory,
    ...(options.memoryLimitMiB ? { memoryLimitMiB: options.memoryLimitMiB } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
  });
  try {
    await createAzureView(session.connection, azure, scope);
    await createS3View(session.connection, s3, scope);
    const counts = await joinReports(session.connection, options.namesPerPass, options.onProgress);
    return {
      azure,
      s3,
      counts,
      async *differences() {
        const connection = await session.connect();
        for await (const pair of candidatePairs(connection, scope.keyRoot)) {
          yield {
            ...pair,
            verdict: classifyFromListings(pair.source, pair.target),
            reportOlderThanLive: isReportOlderThanLive(pair, azure, s3, copyLagMs),
          };
        }
      },
      close: () => session.close(),
    };
  } catch (error) {
    session.close();
    throw error;
  }
}
