import { openQueueJournal, queueRepair, reconcile, type QueueRepair, type RepairOptions } from '@blobferry/reconcile';
import { keyMappingFor } from '@blobferry/transfer';
import { Command, Option } from 'commander';
import type { CliIo } from '../cli-io.js';
import { EXIT_CODES, EXIT_CODES_HELP, type ExitCode } from '../cli-errors.js';
import { createProgressDisplay } from '../output/progress.js';
import { createReporter } from '../output/reporters.js';
import { createVerifyClients, describeSource, type VerifyClients } from '../verify/clients.js';
import { explainFailure } from '../verify/failure-hints.js';
import { describeInventoryRun, openRunInventory } from '../verify/inventory.js';
import {
  DEFAULT_JOURNAL_PATH,
  KEY_LAYOUTS_HELP,
  resolveVerifyConfig,
  type VerifyConfig,
  type VerifyFlags,
} from '../verify/verify-config.js';

/** A queue message of an earlier run counts as still waiting for this long (then the blob is enqueued again). */
const JOURNAL_EXPIRY_MS = 24 * 3600 * 1000;

async function repairOptions(config: VerifyConfig, { container, queue }: VerifyClients): Promise<RepairOptions | undefined> {
  const repair = config.repair;
  if (!repair) return undefined;
  let viaQueue: QueueRepair | undefined;
  if (repair.viaQueue && queue) {
    viaQueue = queueRepair({
      queue,
      container: config.container,
      blobUrlOf: (name) => container.getBlobClient(name).url,
      journal: await openQueueJournal(repair.viaQueue.journalPath, { expiresAfterMs: JOURNAL_EXPIRY_MS }),
    });
  }
  return { dryRun: repair.dryRun, deleteExtra: repair.deleteExtra, ...(viaQueue ? { viaQueue } : {}) };
}

/** Runs one verification as configured by `flags`; resolves to the exit code. */
export async function runVerify(flags: VerifyFlags, io: CliIo): Promise<ExitCode> {
  const config = await resolveVerifyConfig(flags, io.env);
  const clients = createVerifyClients(config);
  const { container, s3 } = clients;
  try {
    const keys = keyMappingFor({
      account: container.accountName,
      container: config.container,
      prefix: config.targetPrefix,
      layout: config.keyLayout,
    });
    const source = describeSource(container, config.prefix);
    const targets = { source, target: `s3://${config.bucket}/${keys.keyOf(config.prefix)}` };
    const reporter = createReporter(config.format, io, targets, config.repair !== undefined);
    const progress = createProgressDisplay(io, config.progress);
    const repair = await repairOptions(config, clients);
    const inventory = await openRunInventory(config, clients, keys, io);
    let summary;
    try {
      summary = await reconcile({
        source: { container, prefix: config.prefix },
        target: { s3, bucket: config.bucket, features: config.s3Features },
        keys,
        deep: config.deep,
        properties: config.properties,
        concurrency: config.concurrency,
        ...(repair ? { repair } : {}),
        ...(inventory ? { listing: inventory.listing } : {}),
        onDifference: (difference) => reporter.difference(difference),
        onProgress: (update) => progress.update(update),
      });
    } catch (error) {
      throw explainFailure(error, { s3Endpoint: config.s3Endpoint, region: config.region, source });
    } finally {
      progress.stop();
      await inventory?.close();
    }
    if (inventory) io.stderr.write(describeInventoryRun(inventory));
    reporter.finish(summary);
    return summary.remaining === 0 ? EXIT_CODES.ok : EXIT_CODES.differences;
  } finally {
    s3.destroy();
  }
}

/** The options verify and backfill share: where the source and the backup are, and how to reach them. */
function withSourceAndTarget(command: Command): Command {
  return command
    .option('--account-url <url>', 'Azure storage account URL, e.g. https://<account>.blob.core.windows.net (DefaultAzureCredential)')
    .option('--connection-string <string>', 'Azure storage connection string (default: AZURE_STORAGE_CONNECTION_STRING)')
    .option('--container <name>', 'source container')
    .option('--prefix <prefix>', 'only blobs whose names start with this (mapped to S3 through the key layout)')
    .option('--bucket <name>', 'backup bucket')
    .option('--target-prefix <prefix>', 'key prefix the backup writes under')
    .option('--key-layout <layout>', KEY_LAYOUTS_HELP)
    .option('--region <region>', 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, profile)')
    .option('--s3-endpoint <url>', 'S3 endpoint URL (path-style), for S3-compatible or local endpoints')
    .option(
      '--s3-checksum <algorithm>',
      'full-object checksum repairs write: CRC32 (default, Amazon S3), CRC32C, or none for a store that refuses both',
    )
    .option(
      '--s3-conditional-writes <true|false>',
      'whether the S3 endpoint enforces If-None-Match / If-Match (default true, as Amazon S3 does)',
    )
    .option('--role-arn <arn>', 'AWS role to assume with the Azure identity (federated, no AWS keys)')
    .option('--audience <uri>', 'Entra audience the role trust policy pins (with --role-arn)')
    .option('--managed-identity-client-id <id>', 'user-assigned managed identity to federate (default: system-assigned)')
    .option('--sts-endpoint <url>', 'STS endpoint for the federated exchange')
    .option('--local', 'take everything from the local cloud (.local-cloud/stack.json)')
    .option('--stack <path>', 'local cloud stack file (with --local)')
    .option('--deep', 'read and hash both sides of every pair (resolves unverifiable, catches silent corruption)')
    .option(
      '--properties',
      "compare every pair's metadata, tags, tier and blob type too: lists metadata and tags (Azure: blobs/tags/read), one HEAD per pair, GetObjectTagging where tags exist",
    )
    .option('--concurrency <n>', 'object requests (HEAD, hashing, copies, queue messages) in flight at once', '16')
    .option('--inventory', 'read the Azure and S3 inventory reports instead of listing both sides (lists when none are configured)')
    .option(
      '--azure-inventory <container/rule>',
      "the inventory rule's destination container and name (default blobferry-inventory/blobferry)",
    )
    .option(
      '--s3-inventory <url>',
      "where S3 delivers the backup bucket's reports (default s3://<bucket>-inventory/inventory/<bucket>/blobferry/)",
    )
    .option('--inventory-max-age <hours>', 'refuse reports that began longer ago (default 48)')
    .option('--inventory-dir <path>', "where reports are downloaded and DuckDB spills (default: the system's temp folder)")
    .addOption(new Option('--json', 'one JSON report on stdout').conflicts('ndjson'))
    .addOption(new Option('--ndjson', 'one JSON line per difference as found, then a summary line').conflicts('json'))
    .option('--progress', 'progress on stderr even when it is not a terminal')
    .option('--no-progress', 'no progress display');
}

function withQueue(command: Command): Command {
  return command
    .option(
      '--queue-url <url>',
      'the backup queue, https://<account>.queue.core.windows.net/<queue> (DefaultAzureCredential: Storage Queue Data Message Sender)',
    )
    .option('--queue-name <name>', 'the backup queue in the account of --connection-string')
    .option('--journal <path>', `what this and earlier runs enqueued, so a rerun sends nothing twice (default ${DEFAULT_JOURNAL_PATH})`);
}

export function verifyCommand(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  return withQueue(
    withSourceAndTarget(new Command('verify').description('Prove the S3 backup matches the Azure container; --repair mends what differs'))
      .option('--repair', 're-copy missing, mismatched and stale objects from Azure; update differing properties in place')
      .option(
        '--via-queue',
        'with --repair: enqueue the blobs to mend, in batch messages, for the backup Function fleet instead of copying here',
      )
      .option('--dry-run', 'with --repair: list what would be done, change nothing')
      .option('--delete-extra', 'with --repair: delete objects S3 has and Azure does not (never with --via-queue)'),
  )
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .action(async (flags: VerifyFlags) => {
      setExitCode(await runVerify(flags, io));
    });
}

export function backfillCommand(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  return withQueue(
    withSourceAndTarget(
      new Command('backfill').description(
        'Back up an existing estate through the Function fleet: the blobs that S3 lacks or holds stale, in batch queue messages (verify --repair --via-queue)',
      ),
    ).option('--dry-run', 'list what would be enqueued, send nothing'),
  )
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .action(async (flags: VerifyFlags) => {
      setExitCode(await runVerify({ ...flags, repair: true, viaQueue: true }, io));
    });
}
