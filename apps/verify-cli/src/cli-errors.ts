/** Process exit codes of `blobferry`, the contract scripts rely on. */
export const EXIT_CODES = {
  /** Everything verified in sync (after `--repair`: nothing left that differs). */
  ok: 0,
  /** Differences remain (reported extras, unverifiable objects and per-object `error`s included). */
  differences: 1,
  /** Usage, configuration or authentication refused up front: the message names the fix. */
  usage: 2,
  /** The run could not complete (a listing failed, an endpoint stopped answering): nothing is proven. */
  runtime: 3,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The exit codes as `--help` prints them. */
export const EXIT_CODES_HELP = [
  'Exit codes:',
  `  ${EXIT_CODES.ok}  in sync (after --repair: nothing left that differs)`,
  `  ${EXIT_CODES.differences}  differences remain (extras, unverifiable and per-object errors included)`,
  `  ${EXIT_CODES.usage}  usage or configuration error, or authentication refused up front`,
  `  ${EXIT_CODES.runtime}  the run could not complete (a listing failed, an endpoint stopped answering)`,
].join('\n');

/** Wrong or missing options or configuration, or access refused up front; the message says what to change. Exit code 2. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** The run started but could not complete; the message says what to check. Exit code 3. */
export class RuntimeFailure extends Error {
  override readonly name = 'RuntimeFailure';
}
