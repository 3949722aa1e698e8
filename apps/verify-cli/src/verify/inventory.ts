import { InventoryReportError, openInventoryListing, type InventoryProgress, type OpenedInventoryListing } from '@blobferry/inventory';
import type { KeyMapping } from '@blobferry/transfer';
import type { CliIo } from '../cli-io.js';
import { ConfigurationError } from '../cli-errors.js';
import { startStatusLine } from '../output/progress.js';
import type { VerifyClients } from './clients.js';
import type { VerifyConfig } from './verify-config.js';

/**
 * `--inventory`: the reports joined, ready for reconcile; or undefined, with a note on stderr, when no inventory is
 * configured (the rule's destination container does not exist), and the run lists both sides as usual. A report
 * that cannot be trusted stops the run (exit 2) with the file and the fix, before anything is classified.
 */
export async function openRunInventory(
  config: VerifyConfig,
  clients: VerifyClients,
  keys: KeyMapping,
  io: CliIo,
): Promise<OpenedInventoryListing | undefined> {
  const inventory = config.inventory;
  const destination = clients.inventoryContainer;
  if (!inventory || !destination) return undefined;
  if (!(await destination.exists())) {
    io.stderr.write(
      `blobferry: no inventory configured (container ${JSON.stringify(destination.containerName)} does not exist): listing both sides instead.\n`,
    );
    return undefined;
  }
  // Reading the reports takes minutes at 10^8 blobs: the files downloaded, then the join's passes, on stderr.
  const downloaded = new Map<string, { files: number; of: number }>();
  let joined: { passes: number; of: number } | undefined;
  const status = startStatusLine(io, config.progress, () => {
    if (joined) return `inventory: joined ${joined.passes} of ${joined.of} passes`;
    const sides = [...downloaded].map(([service, { files, of }]) => `${service === 'azure' ? 'Azure' : 'S3'} ${files}/${of}`);
    return `inventory: report files downloaded ${sides.join(', ') || '...'}`;
  });
  const onProgress = (progress: InventoryProgress) => {
    if (progress.phase === 'download') downloaded.set(progress.service, progress);
    else joined = progress;
  };
  try {
    return await openInventoryListing({
      reports: {
        azure: { container: destination, rule: inventory.azure.rule },
        s3: { s3: clients.s3, bucket: inventory.s3.bucket, prefix: inventory.s3.prefix },
      },
      container: clients.container,
      prefix: config.prefix,
      target: { s3: clients.s3, bucket: config.bucket },
      keys,
      maxReportAgeMs: inventory.maxAgeMs,
      concurrency: config.concurrency,
      ...(inventory.workDirectory ? { workDirectory: inventory.workDirectory } : {}),
      onProgress,
    });
  } catch (error) {
    if (error instanceof InventoryReportError) throw new ConfigurationError(`Inventory report refused: ${error.message}`, { cause: error });
    throw error;
  } finally {
    status.stop();
  }
}

/** One line on stderr: which reports were read, what they settled, and what was checked live. */
export function describeInventoryRun(opened: OpenedInventoryListing): string {
  const summary = opened.summary();
  const decided = Object.entries(summary.decided)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
  return (
    `blobferry: inventory ${summary.reports.azure.manifest} (began ${summary.reports.azure.startedAt}) and ` +
    `${summary.reports.s3.manifest} (began ${summary.reports.s3.startedAt}): ${summary.inSync} in sync by the reports; ` +
    `decided by the reports: ${decided || 'none'}; live checks: ${summary.needsHead} HEAD, ${summary.reportOlderThanLive} read live ` +
    `(report older than the blob or object); download ${summary.fetchMs} ms, join ${summary.joinMs} ms\n`
  );
}
