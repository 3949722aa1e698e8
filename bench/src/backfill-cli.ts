import type { Stack } from '@blobferry/local-cloud';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// `blobferry backfill` as the proof runs it: apps/verify-cli's sources named by path (the bench is a tool and
// may not import an app), run by Node with tsx from the repository root, in its own process. `--local --stack`
// takes the source account, the bucket, the backup queue and the federated AWS credentials (the local identity
// plane and STS) from the local cloud's stack file, so the bench writes the stack it got from the cloud process.

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BACKFILL_CLI_ENTRY = fileURLToPath(new URL('../../apps/verify-cli/src/main.ts', import.meta.url));

/** Node's own flags for running the CLI from its sources (`@blobferry/source` resolves the libs to theirs too). */
export const FROM_SOURCE_NODE_ARGS = ['--conditions=@blobferry/source', '--import', 'tsx'];

/**
 * The stack file `--stack` reads: the Stack exactly as the cloud process printed it, which is the shape
 * apps/verify-cli/src/local-stack.ts validates (`.local-cloud/stack.json`). Private: it holds the account key.
 */
export async function writeStackFile(path: string, stack: Stack): Promise<void> {
  await writeFile(path, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
}

/** The CLI's arguments after Node's: everything from the stack file but the run's container, prefix and journal. */
export function backfillArgs(o: {
  stackFile: string;
  container: string;
  targetPrefix: string;
  journal: string;
  concurrency: number;
}): string[] {
  return [
    BACKFILL_CLI_ENTRY,
    'backfill',
    '--local',
    '--stack',
    o.stackFile,
    '--container',
    o.container,
    '--target-prefix',
    o.targetPrefix,
    // Fresh per run: a journal that already names a blob keeps the rerun from enqueueing it.
    '--journal',
    o.journal,
    '--concurrency',
    String(o.concurrency),
    '--no-progress',
    '--json',
  ];
}

/** The CLI's environment: the bench's without AWS_* and AZURE_* (everything comes from the stack file). */
export function backfillEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('AWS_') && !name.startsWith('AZURE_')) env[name] = value;
  return env;
}

export interface BackfillSummary {
  missing: number;
  enqueued: number;
  alreadyQueued: number;
  remaining: number;
  /** The CLI's own time for listing, classifying and enqueueing (its start-up excluded). */
  durationMs: number;
  [kind: string]: number | string;
}

/** The summary of `--json` output; throws unless one message was written for each of the `blobs` (S3 lacks them all). */
export function expectAllEnqueued(stdout: string, blobs: number): BackfillSummary {
  const summary = (JSON.parse(stdout) as { summary: BackfillSummary }).summary;
  if (summary.enqueued !== blobs || summary.missing !== blobs) {
    throw new Error(`blobferry backfill enqueued ${summary.enqueued} of ${blobs} blobs (missing ${summary.missing}): ${JSON.stringify(summary)}`);
  }
  return summary;
}
