import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { KeyMapping } from '@blobferry/transfer';
import type { AzureReportLocation } from './azure/azure-report.js';
import { fetchInventoryReports } from './fetch-reports.js';
import { joinInventoryReports, type InventoryJoin } from './join/inventory-join.js';
import { inventoryListing, type InventoryChecks, type InventoryListing } from './inventory-listing.js';
import type { InventoryProgress } from './local-report.js';
import type { S3ReportLocation } from './s3/s3-report.js';

export interface OpenInventoryListingOptions {
  /** The rule's reports (its destination container is in the source account) and the backup bucket's. */
  reports: { azure: AzureReportLocation; s3: S3ReportLocation };
  /** The source container reconciled; its reads also serve the live checks. */
  container: ContainerClient;
  prefix?: string;
  target: { s3: S3Client; bucket: string };
  keys: KeyMapping;
  /** Where report files and DuckDB's spill go (default: the system's temp folder); removed by `close`. */
  workDirectory?: string;
  maxReportAgeMs?: number;
  memoryLimitMiB?: number;
  copyLagMs?: number;
  /** Live reads in flight at once. */
  concurrency?: number;
  /** The reports' files downloaded, then the join's passes, as they happen (minutes at 10^8 blobs). */
  onProgress?: (progress: InventoryProgress) => void;
  abortSignal?: AbortSignal;
}

/** What an inventory run read and decided, beside reconcile's summary. */
export interface InventorySummary extends InventoryChecks {
  reports: { azure: { manifest: string; startedAt: string }; s3: { manifest: string; startedAt: string } };
  inSync: number;
  /** Download of both reports, and the join. */
  fetchMs: number;
  joinMs: number;
}

export interface OpenedInventoryListing {
  listing: InventoryListing;
  summary(): InventorySummary;
  /** Closes DuckDB and removes the downloaded reports and spill. */
  close(): Promise<void>;
}

/** The folders a run makes under its work directory (`<prefix><random>`), removed by `close`. */
const WORK_FOLDER_PREFIX = 'blobferry-inventory-';

/**
 * Removes the folders runs left under `parent` (a process that died mid-run never called `close`); returns
 * their names. Only for a parent no other run uses at the same time, such as an instance's own temporary
 * storage with one run at a time: on a shared folder it would remove the reports of a run under way.
 */
export async function removeLeftoverWorkFolders(parent: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const leftovers = entries.filter((name) => name.startsWith(WORK_FOLDER_PREFIX));
  for (const name of leftovers) await rm(joinPath(parent, name), { recursive: true, force: true });
  return leftovers;
}

/**
 * Downloads both inventory reports and joins them, ready for `reconcile({ listing })`: the reports settle what
 * they can, reconcile classifies (and repairs) the rest as it does listings.
 */
export async function openInventoryListing(options: OpenInventoryListingOptions): Promise<OpenedInventoryListing> {
  const parent = options.workDirectory ?? tmpdir();
  await mkdir(parent, { recursive: true });
  const directory = await mkdtemp(joinPath(parent, WORK_FOLDER_PREFIX));
  let joined: InventoryJoin | undefined;
  try {
    const started = performance.now();
    const prefix = options.prefix ?? '';
    const reports = await fetchInventoryReports({
      azure: options.reports.azure,
      s3: options.reports.s3,
      covering: { container: options.container.containerName, prefix },
      backupBucket: options.target.bucket,
      directory,
      ...(options.maxReportAgeMs !== undefined ? { maxAgeMs: options.maxReportAgeMs } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    const fetched = performance.now();
    const spillDirectory = joinPath(directory, 'spill');
    await mkdir(spillDirectory);
    joined = await joinInventoryReports({
      ...reports,
      scope: { container: options.container.containerName, prefix, keyRoot: options.keys.root },
      spillDirectory,
      ...(options.memoryLimitMiB ? { memoryLimitMiB: options.memoryLimitMiB } : {}),
      ...(options.copyLagMs !== undefined ? { copyLagMs: options.copyLagMs } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const join = joined;
    const joinMs = Math.round(performance.now() - fetched);
    const listing = inventoryListing({
      join,
      container: options.container,
      target: options.target,
      keys: options.keys,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    });
    return {
      listing,
      summary: () => ({
        reports: {
          azure: { manifest: reports.azure.manifest, startedAt: reports.azure.startedAt.toISOString() },
          s3: { manifest: reports.s3.manifest, startedAt: reports.s3.startedAt.toISOString() },
        },
        inSync: join.counts.inSync,
        ...listing.checks(),
        fetchMs: Math.round(fetched - started),
        joinMs,
      }),
      async close() {
        join.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    joined?.close();
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}
