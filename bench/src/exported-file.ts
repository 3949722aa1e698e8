import { realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The apps' files the bench runs (the CLI's built command, the Function's deployed bundle and its host.json) are
// named by the apps' own package exports: where a build puts them is the app's business, not the bench's.

/** `path` with its links resolved as far up as it exists (a build not made yet has no file to resolve). */
function ownPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(ownPath(parent), basename(path));
  }
}

/**
 * The file a workspace package exports as `specifier`, at the package's own path rather than through its link
 * in node_modules. Resolved whether it is built yet or not: running a file that is not there fails then.
 */
export function exportedFile(specifier: string): string {
  return ownPath(fileURLToPath(import.meta.resolve(specifier)));
}
