import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `blobferry` as npm links it into `node_modules/.bin`: the command a user runs with `npx blobferry`. The
 * demo and the backfill tests run it as an installed tool, as they run rclone; the app does not depend on
 * the CLI's code (only the bench may depend on apps: tools/workspace-checks).
 */
export function blobferryBin(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules', '.bin', 'blobferry');
    if (existsSync(bin)) return bin;
    if (dirname(dir) === dir) throw new Error('no node_modules/.bin/blobferry: run `npm ci` at the repository root');
  }
}
