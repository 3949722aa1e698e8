import { replayDeadLetters, replayPoisonQueue } from '@blobferry/reconcile';
import { Command, Option } from 'commander';
import type { CliIo } from '../cli-io.js';
import { ConfigurationError, EXIT_CODES, RuntimeFailure, type ExitCode } from '../cli-errors.js';
import { startStatusLine } from '../output/progress.js';
import { createReplayClients } from '../replay/replay-clients.js';
import { REPLAY_SOURCES, resolveReplayConfig, type ReplayFlags } from '../replay/replay-config.js';
import { writeReplayReport } from '../replay/replay-report.js';

export const REPLAY_EXIT_CODES_HELP = [
  'Exit codes:',
  `  ${EXIT_CODES.ok}  everything found was replayed`,
  `  ${EXIT_CODES.differences}  some dead letters were skipped (a malformed blob, an event that no longer validates): reported and kept`,
  `  ${EXIT_CODES.usage}  usage or configuration error, or access refused up front`,
  `  ${EXIT_CODES.runtime}  the replay could not complete: what was not replayed yet stays where it was`,
].join('\n');

const REFUSED_CODES = new Set(['AuthorizationPermissionMismatch', 'AuthorizationFailure', 'AuthenticationFailed', 'ContainerNotFound']);
const SIGN_IN_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationRequiredError', 'AuthenticationError']);

/** Access refused or a container missing up front is configuration (exit 2); anything else stopped the run (exit 3). */
function explainReplayFailure(error: unknown): ConfigurationError | RuntimeFailure {
  const failure = (error ?? {}) as { name?: string; code?: string; message?: string };
  const message = failure.message ?? String(error);
  if (SIGN_IN_ERRORS.has(failure.name ?? '')) {
    return new ConfigurationError(
      `Azure sign-in failed: ${message}. Run \`az login\`, use a managed identity, or pass --connection-string.`,
    );
  }
  if (REFUSED_CODES.has(failure.code ?? '')) {
    return new ConfigurationError(
      `Azure refused the replay (${failure.code}): ${message}. The caller needs Storage Queue Data Message Sender on the backup queue, ` +
        'Storage Queue Data Message Processor on its poison queue, and read and delete on the dead-letter container.',
    );
  }
  return new RuntimeFailure(
    `The replay stopped before it could finish: ${message}. What was not replayed yet stays where it was: run it again.`,
    { cause: error },
  );
}

/** Runs one replay as configured by `flags`; resolves to the exit code. */
export async function runReplay(flags: ReplayFlags, io: CliIo): Promise<ExitCode> {
  const config = await resolveReplayConfig(flags, io.env);
  const clients = createReplayClients(config);
  const started = performance.now();
  const counts = { messages: 0, blobs: 0, events: 0 };
  const status = startStatusLine(
    io,
    config.progress,
    () =>
      `${counts.messages} poison messages, ${counts.blobs} dead-letter blobs (${counts.events} events) ${config.dryRun ? 'read' : 'replayed'}`,
  );
  let report;
  try {
    const poison = config.poison
      ? await replayPoisonQueue({
          poisonQueue: clients.poisonQueue,
          backupQueue: clients.backupQueue,
          dryRun: config.dryRun,
          onProgress: (messages) => void (counts.messages = messages),
        })
      : undefined;
    const deadLetters =
      config.deadLetters && clients.deadLetters
        ? await replayDeadLetters({
            container: clients.deadLetters,
            subscriptionName: config.deadLetters.subscriptionName,
            backupQueue: clients.backupQueue,
            dryRun: config.dryRun,
            onProgress: (progress) => void Object.assign(counts, { blobs: progress.blobs, events: progress.events }),
          })
        : undefined;
    report = {
      dryRun: config.dryRun,
      deadLettersUnnamed: config.deadLettersUnnamed,
      poison,
      deadLetters,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    throw explainReplayFailure(error);
  } finally {
    status.stop();
  }
  writeReplayReport(io, report, config.format);
  return (report.deadLetters?.skipped.length ?? 0) > 0 ? EXIT_CODES.differences : EXIT_CODES.ok;
}

export function replayCommand(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  return new Command('replay')
    .description("Put the poison queue's messages and Event Grid's dead-lettered events back into the backup queue")
    .addOption(new Option('--from <source>', 'what to replay').choices(REPLAY_SOURCES).default('all'))
    .option(
      '--queue-url <url>',
      'the backup queue, https://<account>.queue.core.windows.net/<queue> (DefaultAzureCredential); its poison queue is <queue>-poison',
    )
    .option('--queue-name <name>', 'the backup queue in the account of --connection-string')
    .option('--connection-string <string>', 'Azure storage connection string (default: AZURE_STORAGE_CONNECTION_STRING)')
    .option('--dead-letter-container-url <url>', "Event Grid's dead-letter container (the Function's DEAD_LETTER_CONTAINER_URL)")
    .option(
      '--subscription-name <name>',
      "the Event Grid subscription whose dead letters to replay (the Function's EVENT_SUBSCRIPTION_NAME)",
    )
    .option('--local', 'take the queues from the local cloud (.local-cloud/stack.json)')
    .option('--stack <path>', 'local cloud stack file (with --local)')
    .option('--dry-run', 'count and check what would be replayed, change nothing')
    .option('--json', 'one JSON report on stdout')
    .option('--progress', 'progress on stderr even when it is not a terminal')
    .option('--no-progress', 'no progress display')
    .addHelpText('after', `\n${REPLAY_EXIT_CODES_HELP}`)
    .action(async (flags: ReplayFlags) => {
      setExitCode(await runReplay(flags, io));
    });
}
