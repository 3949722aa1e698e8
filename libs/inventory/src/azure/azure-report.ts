import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { InventoryReportError } from '../errors.js';
import type { LocalReport } from '../local-report.js';
import { checkReportAge, checksumMatches } from '../report-age.js';
import { downloadEach } from '../report-files.js';
import { describeAzureManifest } from './azure-manifest.js';

// Azure writes each run of a rule under `<destination>/YYYY/MM/DD/HH-MM-SS/<ruleName>/`: the data files, then
// `<ruleName>-manifest.json` (created Pending when the run begins), then `<ruleName>-manifest.checksum`, whose
// arrival marks the run complete (and raises BlobInventoryPolicyCompleted).

/** Where a rule's reports are: its destination container (in the source account) and the rule's name. */
export interface AzureReportLocation {
  container: ContainerClient;
  rule: string;
  /** One run's manifest (its blob name, as BlobInventoryPolicyCompleted's manifestBlobUrl ends); default: the newest. */
  manifest?: string;
}

export interface FetchAzureReportOptions {
  location: AzureReportLocation;
  /** The source container being reconciled, and the blob name prefix: the report must cover them. */
  covering: { container: string; prefix: string };
  /** Local folder for the downloaded files. */
  directory: string;
  maxAgeMs: number;
  now: Date;
  /** After the manifest is read and after each file: files downloaded of the report's. */
  onFile?: (files: number, of: number) => void;
  abortSignal?: AbortSignal;
}

const RUN_FOLDER = /^\d{4}\/\d{2}\/\d{2}\/\d{2}-\d{2}-\d{2}\/$/;

function described(location: AzureReportLocation, blob: string): string {
  return `${location.container.containerName}/${blob}`;
}

async function readText(container: ContainerClient, blob: string, abortSignal?: AbortSignal): Promise<string | undefined> {
  try {
    return (await container.getBlobClient(blob).downloadToBuffer(undefined, undefined, { abortSignal })).toString('utf8');
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** The newest run's manifest of the rule: run folders sort by time, so the last one listed that has it. */
async function newestManifest(location: AzureReportLocation, abortSignal?: AbortSignal): Promise<string> {
  const { container, rule } = location;
  const runs: string[] = [];
  // Three levels of dated folders, walked newest first would need three listings each; the destination
  // holds a few files per run, so one flat listing of the rule's manifests is cheaper and simpler.
  for await (const blob of container.listBlobsFlat({ abortSignal })) {
    const suffix = `/${rule}/${rule}-manifest.json`;
    if (blob.name.endsWith(suffix) && RUN_FOLDER.test(blob.name.slice(0, -suffix.length + 1))) runs.push(blob.name);
  }
  const newest = runs.sort().at(-1);
  if (newest === undefined) {
    throw new InventoryReportError(
      `${container.containerName}/*/${rule}/${rule}-manifest.json`,
      `no report of inventory rule ${JSON.stringify(rule)} found (a report without its manifest cannot be read)`,
      "Check the rule name and destination container of the account's inventory policy, and that a run has completed.",
    );
  }
  return newest;
}

/**
 * Reads one run of an Azure Blob Inventory rule through its manifest, with the caller's identity (the SDK; no
 * DuckDB extension downloads anything), and downloads its files. Refuses a run that is still being written (no
 * checksum blob, or a manifest that does not match it), one that failed, one without a field the join needs,
 * one not covering the container, and one older than `maxAgeMs`.
 */
export async function fetchAzureReport(options: FetchAzureReportOptions): Promise<LocalReport> {
  const { location, abortSignal } = options;
  const { container, rule } = location;
  const manifestBlob = location.manifest ?? (await newestManifest(location, abortSignal));
  const file = described(location, manifestBlob);
  const manifestText = await readText(container, manifestBlob, abortSignal);
  if (manifestText === undefined) {
    throw new InventoryReportError(
      file,
      'does not exist (a report without its manifest cannot be read)',
      "Name an existing run's manifest.",
    );
  }
  const checksumBlob = manifestBlob.replace(/-manifest\.json$/, '-manifest.checksum');
  const checksum = await readText(container, checksumBlob, abortSignal);
  if (checksum === undefined) {
    throw new InventoryReportError(
      described(location, checksumBlob),
      'is missing: the run is still writing its report',
      `Wait for the run of rule ${JSON.stringify(rule)} to complete (BlobInventoryPolicyCompleted), or name an earlier run's manifest.`,
    );
  }
  if (!checksumMatches(checksum, createHash('md5').update(manifestText).digest())) {
    throw new InventoryReportError(
      file,
      'does not match its checksum file',
      'The manifest changed after the run completed; read it again, or use another run.',
    );
  }
  const description = describeAzureManifest(manifestText, file, options.covering);
  checkReportAge(file, description.startedAt, options.maxAgeMs, options.now);
  const files = await downloadEach(
    description.files,
    async (listed, index) => {
      const path = join(options.directory, `azure-${index}.${description.format}`);
      const source = described(location, listed.blob);
      try {
        await container.getBlobClient(listed.blob).downloadToFile(path, undefined, undefined, { abortSignal });
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode !== 404) throw error;
        throw new InventoryReportError(source, 'is listed in the manifest but does not exist', "Use a complete run's report.");
      }
      return { path, source };
    },
    options.onFile,
  );
  return {
    service: 'azure',
    manifest: file,
    format: description.format,
    fields: description.fields,
    startedAt: description.startedAt,
    includesNonCurrent: description.includesNonCurrent,
    files,
  };
}
