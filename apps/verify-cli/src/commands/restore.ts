import { listRestorePoints, restore, RestoreSetupError, softDeleteEnabled, type RestoreSummary } from '@blobferry/restore';
import { keyMappingFor } from '@blobferry/transfer';
import { Command } from 'commander';
import type { CliIo } from '../cli-io.js';
import { ConfigurationError, EXIT_CODES, EXIT_CODES_HELP, RuntimeFailure, type ExitCode } from '../cli-errors.js';
import { createProgressDisplay } from '../output/progress.js';
import { createRestoreReporter, writeRestorePoints } from '../output/restore-report.js';
import { createRestoreClients } from '../restore/clients.js';
import { resolveRestoreConfig, type RestoreFlags } from '../restore/restore-config.js';
import { explainFailure } from '../verify/failure-hints.js';
import { KEY_LAYOUTS_HELP } from '../verify/verify-config.js';

/** Runs one restore (or --list-versions) as configured by `flags`; resolves to the exit code. */
export async function runRestore(flags: RestoreFlags, io: CliIo): Promise<ExitCode> {
  const config = await resolveRestoreConfig(flags, io.env, new Date());
  const clients = createRestoreClients(config);
  try {
    const keys = keyMappingFor({
      account: clients.source.accountName,
      container: config.container,
      prefix: config.targetPrefix,
      layout: config.keyLayout,
    });
    const source = { s3: clients.s3, bucket: config.bucket, keys };
    if (config.listVersions !== undefined) {
      const points = await listRestorePoints({ ...source, name: config.listVersions });
      if (points.length === 0)
        throw new ConfigurationError(
          `No backup of ${JSON.stringify(config.listVersions)} in s3://${config.bucket}/${keys.root}: check the name (exact, case-sensitive) and --container.`,
        );
      writeRestorePoints(io, config.format, config.listVersions, points);
      return EXIT_CODES.ok;
    }
    const reporter = createRestoreReporter(config.format, io);
    const progress = createProgressDisplay(io, config.progress);
    let done = { objects: 0, bytes: 0 };
    let summary: RestoreSummary;
    try {
      summary = await restore({
        source: { ...source, ...(config.name !== undefined ? { name: config.name } : { prefix: config.prefix }) },
        target: { container: clients.target, overwrite: config.overwrite },
        ...(config.asOf ? { asOf: config.asOf } : {}),
        includeDeleted: config.includeDeleted,
        dryRun: config.dryRun,
        ...(config.removeExtras
          ? { removeExtras: { unprotectedConfirmed: config.yes, recoverable: () => softDeleteEnabled(clients.service) } }
          : {}),
        serverSide: config.serverSide,
        concurrency: config.concurrency,
        onItem: (item) => {
          reporter.item(item);
          done = { objects: done.objects + 1, bytes: done.bytes + (item.outcome === 'restored' ? (item.version?.size ?? 0) : 0) };
          progress.update(done);
        },
      });
    } catch (error) {
      if (error instanceof RestoreSetupError) throw new ConfigurationError(error.message, { cause: error });
      const explained = explainFailure(error, { s3Endpoint: config.s3Endpoint, region: config.region, source: clients.source.url });
      throw explained instanceof RuntimeFailure
        ? new RuntimeFailure(`${explained.message} A rerun resumes: blobs already restored are skipped.`, { cause: error })
        : explained;
    } finally {
      progress.stop();
    }
    reporter.finish(summary);
    return summary.remaining === 0 ? EXIT_CODES.ok : EXIT_CODES.differences;
  } finally {
    clients.s3.destroy();
  }
}

export function restoreCommand(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  return new Command('restore')
    .description(
      'Restore a container (or a prefix, or one blob) from its S3 backups as of a point in time, into a new container by default; every blob checked against the checksum the backup recorded',
    )
    .option(
      '--account-url <url>',
      'source storage account URL; the operator signs in with DefaultAzureCredential (az login, managed identity)',
    )
    .option('--connection-string <string>', 'or an Azure storage connection string (default: AZURE_STORAGE_CONNECTION_STRING)')
    .option('--container <name>', 'the source container whose backups to restore')
    .option('--prefix <prefix>', 'only blobs whose names start with this')
    .option('--name <name>', 'only this one blob, by its exact name')
    .option('--bucket <name>', 'backup bucket')
    .option('--target-prefix <prefix>', 'key prefix the backup writes under')
    .option('--key-layout <layout>', KEY_LAYOUTS_HELP)
    .option('--region <region>', 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, profile)')
    .option('--s3-endpoint <url>', 'S3 endpoint URL (path-style)')
    .option('--role-arn <arn>', 'the read-only restore role to assume with the Azure identity (infra/aws-iam output RestoreRoleArn)')
    .option('--audience <uri>', 'Entra audience the restore role trust policy pins (with --role-arn)')
    .option('--sts-endpoint <url>', 'STS endpoint for the federated exchange')
    .option('--local', 'take everything from the local cloud (.local-cloud/stack.json), as its operator user on the restore role')
    .option('--stack <path>', 'local cloud stack file (with --local)')
    .option(
      '--to <container>',
      'target: a container URL, or a container name in the source account (default: a new <container>-restored-<time>)',
    )
    .option('--as-of <time>', 'restore each blob as it was at this ISO 8601 time (source clock); default: the latest backups')
    .option('--include-deleted', 'also restore blobs deleted (at the point), at their last version before the delete')
    .option('--overwrite', 'restore over live data at --to; each write is conditional on the blob the plan saw there')
    .option('--dry-run', 'plan and report (counts and bytes per kind); write nothing')
    .option(
      '--remove-extras',
      'remove blobs at the target that did not exist at the point (only where the account keeps deleted blobs, else with --yes)',
    )
    .option('--yes', 'with --remove-extras: remove them even where deleted blobs cannot be recovered')
    .option('--list-versions <name>', "list one blob's restore points (exact name) and exit")
    .option('--no-server-side', 'stream every byte through this process instead of letting Azure read S3 (Put Blob From URL)')
    .option('--concurrency <n>', 'blobs restored at once', '16')
    .option('--json', 'one JSON document on stdout: summary and items')
    .option('--progress', 'progress on stderr even when it is not a terminal')
    .option('--no-progress', 'no progress display')
    .addHelpText(
      'after',
      `\n${EXIT_CODES_HELP.replace('in sync (after --repair: nothing left that differs)', 'in sync / everything restored and verified')}`,
    )
    .action(async (flags: RestoreFlags) => {
      setExitCode(await runRestore(flags, io));
    });
}
