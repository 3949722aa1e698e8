/** Something to fix before the restore can start (options, permissions, the target); nothing was written. */
export class RestoreSetupError extends Error {
  override readonly name = 'RestoreSetupError';
}
