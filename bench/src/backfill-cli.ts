import { VERIFY_BIN } from './verify-cli.js';

// `blobferry backfill` as a user runs it: apps/verify-cli's built command (VERIFY_BIN), in its own process.
// `--local --stack` takes the source account, the bucket, the backup queue and the federated AWS credentials (the
// local identity plane and STS) from the local cloud's stack file, so the bench writes the stack it got from the
// cloud process (local-cloud's writeStackFile).

export interface BackfillArgsOptions {
  stackFile: string;
  container: string;
  targetPrefix: string;
  journal: string;
  concurrency: number;
}

/** The CLI's arguments after Node's: everything from the stack file but the run's container, prefix and journal. */
export function backfillArgs(o: BackfillArgsOptions): string[] {
  return [
    VERIFY_BIN,
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
    throw new Error(
      `blobferry backfill enqueued ${summary.enqueued} of ${blobs} blobs (missing ${summary.missing}): ${JSON.stringify(summary)}`,
    );
  }
  return summary;
}
