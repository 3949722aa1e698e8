import type { Stack } from '@blobferry/local-cloud';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `blobferry verify` as a user runs it: apps/verify-cli's built bin, in its own process, against a stack file.

export const VERIFY_BIN = fileURLToPath(new URL('../../apps/verify-cli/dist/main.js', import.meta.url));

export async function writeStackFile(directory: string, stack: Stack): Promise<string> {
  const path = join(directory, 'stack.json');
  await writeFile(path, JSON.stringify(stack), { mode: 0o600 });
  return path;
}

export function verifyArgs(o: { stackFile: string; container: string; targetPrefix: string; deep?: boolean }): string[] {
  return [
    VERIFY_BIN,
    'verify',
    '--local',
    '--stack',
    o.stackFile,
    '--container',
    o.container,
    '--target-prefix',
    o.targetPrefix,
    ...(o.deep ? ['--deep'] : []),
    '--json',
  ];
}

export interface VerifySummary {
  source: number;
  target: number;
  inSync: number;
  [kind: string]: number;
}

/** The summary of `--json` output; throws unless every object is in sync (a benchmark of a wrong answer is void). */
export function expectAllInSync(stdout: string, objects: number): VerifySummary {
  const summary = (JSON.parse(stdout) as { summary: VerifySummary }).summary;
  if (summary.inSync !== objects) {
    throw new Error(`blobferry verify found ${summary.inSync} of ${objects} objects in sync: ${JSON.stringify(summary)}`);
  }
  return summary;
}
