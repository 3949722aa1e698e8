import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { processIo, type CliIo } from './cli-io.js';
import { EXIT_CODES, EXIT_CODES_HELP, RuntimeFailure, type ExitCode } from './cli-errors.js';
import { credentialsCommand } from './commands/credentials.js';
import { replayCommand } from './commands/replay.js';
import { restoreCommand } from './commands/restore.js';
import { backfillCommand, verifyCommand } from './commands/verify.js';

/** Commander's own exits (usage errors) become exit code 2, help and version 0, and all output goes to `io`. */
function routeThroughIo(command: Command, io: CliIo): void {
  command.exitOverride();
  command.configureOutput({
    writeOut: (text) => void io.stdout.write(text),
    writeErr: (text) => void io.stderr.write(text),
  });
  for (const subcommand of command.commands) routeThroughIo(subcommand, io);
}

/** package.json's version: one directory up from this module, in the sources and in dist alike. */
function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

export function createProgram(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('blobferry')
    .description(
      'Verify, repair, backfill and restore the S3 backup of an Azure Blob Storage container; replay what the backup could not handle',
    )
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(add --help for the options)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  program.addCommand(verifyCommand(io, setExitCode));
  program.addCommand(backfillCommand(io, setExitCode));
  program.addCommand(replayCommand(io, setExitCode));
  program.addCommand(restoreCommand(io, setExitCode));
  program.addCommand(credentialsCommand());
  routeThroughIo(program, io);
  return program;
}

/** Runs `blobferry` with the given arguments (without node and script) and resolves to the exit code. */
export async function run(argv: readonly string[], io: CliIo = processIo()): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT_CODES.ok;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed its message; help and version are not errors.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    io.stderr.write(`blobferry: ${error instanceof Error ? error.message : String(error)}\n`);
    // verify, backfill, replay and restore throw a RuntimeFailure when a run could not complete. Everything else is a
    // ConfigurationError, a LocalStackError, or `credentials`' exchange refused (the identity, its trust
    // or its settings): all up front, all fixed by changing the configuration.
    return error instanceof RuntimeFailure ? EXIT_CODES.runtime : EXIT_CODES.usage;
  }
}
