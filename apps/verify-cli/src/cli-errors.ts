/** Process exit codes of `blobferry`, the contract scripts rely on. */
export const EXIT_CODES = {
  /** Everything verified in sync (after `--repair`: nothing left that differs). */
  ok: 0,
  /** Differences remain (reported extras included). */
  differences: 1,
  /** Usage, configuration or authentication error: the message names the fix. */
  usage: 2,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Wrong or missing options or configuration; the message says what to change. Exit code 2. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}
