export { run, createProgram } from './run.js';
export type { CliIo } from './cli-io.js';
export { EXIT_CODES, ConfigurationError, RuntimeFailure, type ExitCode } from './cli-errors.js';
export { loadLocalStack, LocalStackError, DEFAULT_STACK_PATH } from './local-stack.js';
