// The `blobferry` command as a function, for embedding and tests: arguments in, exit code out.
export { run } from './run.js';
export type { CliIo } from './cli-io.js';
export { EXIT_CODES, type ExitCode } from './cli-errors.js';
