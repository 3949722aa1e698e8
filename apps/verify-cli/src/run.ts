import { Command, CommanderError } from 'commander';
import { processIo, type CliIo } from './cli-io.js';
import { ConfigurationError, EXIT_CODES, type ExitCode } from './cli-errors.js';
import { credentialsCommand } from './commands/credentials.js';
import { backfillCommand, verifyCommand } from './commands/verify.js';
import { LocalStackError } from './local-stack.js';

/** Commander's own exits (usage errors) become exit code 2, help and version 0, and all output goes to `io`. */
function routeThroughIo(command: Command, io: CliIo): void {
  command.exitOverride();
  command.configureOutput({
    writeOut: (text) => void io.stdout.write(text),
    writeErr: (text) => void io.stderr.write(text),
  });
  for (const subcommand of command.commands) routeThroughIo(subcommand, io);
}

export function createProgram(io: CliIo, setExitCode: (code: ExitCode) => void): Command {
  const program = new Command('blobferry')
    .description('Verify, repair and backfill the S3 backup of an Azure Blob Storage container')
    .showHelpAfterError('(add --help for the options)');
  program.addCommand(verifyCommand(io, setExitCode));
  program.addCommand(backfillCommand(io, setExitCode));
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
    if (error instanceof ConfigurationError || error instanceof LocalStackError) {
      io.stderr.write(`blobferry: ${error.message}\n`);
      return EXIT_CODES.usage;
    }
    io.stderr.write(`blobferry: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_CODES.usage;
  }
}
