import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `blobferry` as npm links it into `node_modules/.bin`: the command a user runs with `npx blobferry`. */
export function blobferryBin(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules', '.bin', 'blobferry');
    if (existsSync(bin)) return bin;
    if (dirname(dir) === dir) throw new Error('no node_modules/.bin/blobferry: run `npm ci` at the repository root');
  }
}
