import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The `blobferry` command as a user runs it: the bundle `nx build` writes (scripts/bundle.mjs, from the sources). */
export const BLOBFERRY_BIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** Builds the bin as `nx build` would, so a test runs the sources it sits beside. */
export async function buildBlobferryBin(): Promise<void> {
  await promisify(execFile)(process.execPath, [fileURLToPath(new URL('../../scripts/bundle.mjs', import.meta.url))]);
}
