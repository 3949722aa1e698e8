import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeStackFile } from '@blobferry/local-cloud';
import { alternatingRuns, type RunSteps } from '../alternating-runs.js';
import { backfillArgs, backfillEnv, expectAllEnqueued } from '../backfill-cli.js';
import { startBackupHost, type BackupHost, type CopiedBlob } from '../backup-host.js';
import { azureContainer } from '../clients.js';
import { curlReadBlobs } from '../curl-reads.js';
import { queueDepthReader, type QueueDepthReader } from '../endpoint-ops.js';
import { estateBlobs, totalBytes, type EstateBlob } from '../estate.js';
import { withCloudProcess } from '../local-cloud-process.js';
import {
  BLOBFERRY_ROLES,
  CLI_ROLE,
  MACHINE_CPU_BOUND_NOTE,
  MACHINE_CPU_NOTE,
  cpuBetween,
  cpuBoundObjectsPerS,
  medianCpu,
  snapshotCpu,
  type MachineCpu,
} from '../machine-cpu.js';
import { runMeasured, type Measurement } from '../measure.js';
import { medianUsage } from '../median-figures.js';
import type { ProcessUsage } from '../proc-usage.js';
import { retriedAttempts, runRclone, writeRcloneConfig } from '../rclone.js';
import { FIGURES_NOTE, profilingNodeArgs, runLimit, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { startQueueRequestCounter, type QueueRequestCounter, type QueueRequestCounts } from '../queue-requests.js';
import { uploadBlobsOfSizes } from '../seed.js';
import { MiB, median, percentile, round } from '../stats.js';

// Backing up an existing estate (blobs that predate the event subscription, on a cloud without events) through
// the Function fleet: `blobferry backfill` enqueues the blobs S3 lacks in batch messages, the backup function in
// its Functions host copies; against `rclone copy` of the same container. bench/README.md, "backfill".

const CONTAINER = 'estate';
const SEED_CONCURRENCY = 16;
/** How often the bench reads the queue's length while a backfill runs (Get Queue Metadata: one cheap request). */
const QUEUE_SAMPLE_MS = 250;

interface BlobferryFigures {
  /** From the start of the backfill command to the queue seen empty with every blob copied. */
  wallS: number;
  cli: Measurement;
  /** The CLI's own time listing, classifying and enqueueing (its summary's durationMs: start-up excluded). */
  cliListAndEnqueueS: number;
  host: ProcessUsage;
  /** Host CPU spent before the backfill started (loading the deployed bundle, the health check). */
  hostStartupCpuS: number;
  maxInFlight: number;
  firstCopyAfterMs: number;
  lastCopyAfterMs: number;
  /** Copies per second from the first to the last: how fast the one host drained the queue once it had work. */
  drainObjectsPerS: number;
  queueDepthPeak: number;
  functionDurationsMs: number[];
  redelivered: number;
  outcomes: Record<string, number>;
  /** Where the machine's CPU went from the start of the backfill command to the queue drained. */
  machine: MachineCpu;
  /** Requests to the queue service by the CLI and the host, from the command's start to the queue drained. */
  queueRequests: QueueRequestCounts;
}

interface RunFigures {
  blobferry: BlobferryFigures;
  /** rclone's run, and where the machine's CPU went during it. */
  rclone: Measurement & { machine: MachineCpu };
  azureRead: Measurement;
  s3Write: Measurement;
}

async function objectsUnder(stack: Stack, prefix: string): Promise<number> {
  return (await runLimit({ stack, op: 's3-list', prefixes: [prefix], concurrency: 1 })).objects;
}

/** What every run of the scenario works on: the seeded estate and the files that name the stack to the tools. */
interface BackfillSetup {
  context: BenchContext;
  stack: Stack;
  stackFile: string;
  rcloneConf: string;
  blobs: EstateBlob[];
  bytes: number;
  /** The CLI and the host reach the queue through it (`queueRequests.stack`). */
  queueRequests: QueueRequestCounter;
}

/** Seeds the estate (not measured) and writes the stack file the CLI reads and rclone's config. */
async function prepare(context: BenchContext, stack: Stack): Promise<BackfillSetup> {
  const { count, largeCount } = context.profile.backfill;
  if (stack.events.delivery !== 'off')
    throw new Error(`the local cloud delivers events (${stack.events.delivery}); a backfill needs them off`);
  const blobs = estateBlobs(count, largeCount);
  const bytes = totalBytes(blobs);
  const seedStarted = Date.now();
  const container = azureContainer(stack, CONTAINER);
  await container.createIfNotExists();
  await uploadBlobsOfSizes({ container, blobs, concurrency: SEED_CONCURRENCY });
  const seedS = round((Date.now() - seedStarted) / 1000, 1);
  context.log(`backfill: seeded ${count} blobs (${round(bytes / MiB, 1)} MiB, ${largeCount} over 16 MiB) in ${seedS} s`);
  const queueRequests = await startQueueRequestCounter(stack);
  const stackFile = join(context.workDir, 'backfill-stack.json');
  await writeStackFile(stackFile, queueRequests.stack);
  const rcloneConf = await writeRcloneConfig(context.workDir, stack, context.profile.tuning);
  return { context, stack, stackFile, rcloneConf, blobs, bytes, queueRequests };
}

/** Reads the queue's length every QUEUE_SAMPLE_MS until stopped; `stop` resolves with the most seen. */
function sampleQueuePeak(queue: QueueDepthReader): { stop(): Promise<number> } {
  let sampling = true;
  let peak = 0;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await queue.depth());
      await sleep(QUEUE_SAMPLE_MS);
    }
  })();
  return {
    stop: async () => {
      sampling = false;
      await sampler;
      return peak;
    },
  };
}

/** Waits for the queue to be seen empty: once every blob is copied, its last messages are being deleted. */
async function waitForEmptyQueue(queue: QueueDepthReader, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await queue.depth()) !== 0) {
    if (Date.now() > deadline) {
      throw new Error(`every blob is copied but the backup queue still holds messages after ${timeoutMs / 1000} s`);
    }
    await sleep(20);
  }
}

/** `blobferry backfill` of the estate under the run's prefix, measured in its own process. */
function runBackfillCli(setup: BackfillSetup, keyPrefix: string, run: number): Promise<Measurement> {
  const { context } = setup;
  const args = backfillArgs({
    stackFile: setup.stackFile,
    container: CONTAINER,
    targetPrefix: keyPrefix,
    journal: join(context.workDir, `backfill-journal-${run}-${Date.now()}.ndjson`),
    concurrency: context.profile.tuning.filesInFlight,
  });
  return runMeasured(process.execPath, [...profilingNodeArgs(), ...args], { env: backfillEnv(), cwd: context.workDir });
}

/** blobferry's step: a Functions host started, then the backfill command, until the queue is drained. */
async function backfillRun(setup: BackfillSetup, run: number): Promise<BlobferryFigures> {
  const { context, stack, blobs, bytes } = setup;
  const { partSize, concurrency } = context.profile.tuning;
  const keyPrefix = `backfill/blobferry/${run}/`;
  const keys = blobs.map((blob) =>
    backupKeyFor({ account: stack.azure.accountName, container: CONTAINER, blobName: blob.name }, { prefix: keyPrefix }),
  );
  const queue = queueDepthReader(stack, stack.events.queueName);
  let host: BackupHost | undefined;
  let queuePeak: { stop(): Promise<number> } | undefined;
  try {
    const before = await queue.depth();
    if (before !== 0) throw new Error(`the backup queue holds ${before} messages before the backfill (events should be off)`);
    host = await startBackupHost({ stack: setup.queueRequests.stack, keyPrefix, partSize, concurrency, log: context.log });
    const hostStartupCpuS = (await host.usage()).cpuS;

    context.log(`backfill run ${run + 1}/${context.runs}: blobferry backfill of ${blobs.length} blobs (${round(bytes / MiB, 1)} MiB)`);
    const cpuAtStart = await snapshotCpu();
    const startedAt = Date.now();
    setup.queueRequests.reset();
    queuePeak = sampleQueuePeak(queue);
    const cli = await runBackfillCli(setup, keyPrefix, run);
    const summary = expectAllEnqueued(cli.stdout, blobs.length);
    context.log(
      `backfill run ${run + 1}/${context.runs}: ${summary.enqueued} enqueued in ${round(cli.wallS, 1)} s, waiting for the queue to drain`,
    );
    const copies = await host.copied(keys, 120_000 + blobs.length * 250 + (bytes / MiB) * 200);
    await waitForEmptyQueue(queue, 60_000);
    const drainedAt = Date.now();
    const queueRequests = setup.queueRequests.counts();
    // The CLI has exited by now: GNU time measured it.
    const machine = cpuBetween(cpuAtStart, await snapshotCpu(), { [CLI_ROLE]: cli.cpuS });
    const queueDepthPeak = await queuePeak.stop();
    // Just before stopping: stopping drains the host, and its exit takes /proc/<pid> away.
    const usage = await host.usage();
    const outcomes = host.outcomes();
    await host.stop();
    const inS3 = await objectsUnder(stack, keyPrefix);
    if (inS3 !== blobs.length) throw new Error(`${inS3} of ${blobs.length} blobs are in S3 under ${keyPrefix}`);

    const firsts: CopiedBlob[] = keys.map((key) => copies.get(key) as CopiedBlob);
    const copiedAts = firsts.map((copy) => copy.copiedAt);
    const firstCopy = Math.min(...copiedAts);
    const lastCopy = Math.max(...copiedAts);
    return {
      wallS: (drainedAt - startedAt) / 1000,
      cli,
      cliListAndEnqueueS: summary.durationMs / 1000,
      host: usage,
      hostStartupCpuS,
      maxInFlight: host.maxInFlight,
      firstCopyAfterMs: firstCopy - startedAt,
      lastCopyAfterMs: lastCopy - startedAt,
      drainObjectsPerS: blobs.length / Math.max(0.001, (lastCopy - firstCopy) / 1000),
      queueDepthPeak,
      functionDurationsMs: firsts.map((copy) => copy.durationMs),
      redelivered: firsts.filter((copy) => copy.dequeueCount > 1).length,
      outcomes,
      machine,
      queueRequests,
    };
  } finally {
    // On the way out after a failure: the run's own error is the one to report.
    await queuePeak?.stop().catch(() => undefined);
    await host?.stop();
    queue.close();
  }
}

function stepsOf(setup: BackfillSetup, run: number): RunSteps<RunFigures> {
  const { context, stack, blobs } = setup;
  const { filesInFlight, partSize, concurrency } = context.profile.tuning;
  return {
    blobferry: () => backfillRun(setup, run),
    rclone: async () => {
      const target = `backfill/rclone/${run}`;
      const measured = await runRclone(setup.rcloneConf, [
        'copy',
        `azure:${CONTAINER}`,
        `s3:${stack.aws.bucket}/${target}`,
        '--transfers',
        String(filesInFlight),
        '--checkers',
        String(filesInFlight),
      ]);
      const inS3 = await objectsUnder(stack, `${target}/`);
      if (inS3 !== blobs.length) throw new Error(`rclone copy left ${inS3} of ${blobs.length} objects in S3`);
      return measured;
    },
    // Blobs over a part in part-sized ranges, as both tools read them.
    azureRead: () => curlReadBlobs({ stack, container: CONTAINER, blobs, partSize, concurrency: filesInFlight, workDir: context.workDir }),
    s3Write: () =>
      runLimit({
        stack,
        op: 's3-write-sizes',
        keyPrefix: `backfill/limit/${run}/`,
        sizes: blobs.map((blob) => blob.size),
        partSize,
        concurrency: filesInFlight,
        partsInFlight: concurrency,
      }),
  };
}

/** The path a blob takes through blobferry in this scenario (the report's `blobferry.path`). */
const PATH = [
  'blobferry backfill (apps/verify-cli, the built bin, its own process: list + classify, ' +
    'batch messages of up to 32 Event Grid-shaped entries, one per missing blob)',
  'backup queue (Azurite)',
  'apps/backup-function (the deployed bundle): backupBlob (queue trigger) in the tools/functions-host process, ' +
    'federated credentials via the local STS, libs/transfer copy',
].join(' -> ');

export const backfill: Scenario = {
  name: 'backfill',
  // No events: an estate that predates the subscription. The backup queue exists all the same.
  run: (context) =>
    withCloudProcess({ s3: context.s3 }, async (stack) => {
      const setup = await prepare(context, stack);
      try {
        const runs = await alternatingRuns({ context, label: 'backfill', stepsOf: (run) => stepsOf(setup, run) });
        return summarize(context, setup.bytes, runs);
      } finally {
        await setup.queueRequests.close();
      }
    }),
};

const QUEUE_REQUEST_KINDS = ['put', 'get', 'delete', 'update', 'other'] as const;

function queueRequestTotal(counts: QueueRequestCounts): number {
  return QUEUE_REQUEST_KINDS.reduce((total, kind) => total + counts[kind], 0);
}

function summarize(context: BenchContext, bytes: number, runs: RunFigures[]): ScenarioResult {
  const { count, largeCount } = context.profile.backfill;
  const { filesInFlight } = context.profile.tuning;
  const mid = (pick: (r: RunFigures) => number, digits = 2) => round(median(runs.map(pick)), digits);
  const peak = (pick: (r: RunFigures) => number) => round(Math.max(...runs.map(pick)), 1);
  const objectsPerS = (wallS: number) => count / wallS;
  const bf = (r: RunFigures) => r.blobferry;

  const blobferryObjectsPerS = median(runs.map((r) => objectsPerS(bf(r).wallS)));
  const rcloneObjectsPerS = median(runs.map((r) => objectsPerS(r.rclone.wallS)));
  const azureRead = median(runs.map((r) => objectsPerS(r.azureRead.wallS)));
  const s3Write = median(runs.map((r) => objectsPerS(r.s3Write.wallS)));
  const limit = Math.min(azureRead, s3Write);
  // Same set for every tool: the ratio of objects/s and of MiB/s is one number.
  const toMbPerS = (perS: number) => round((perS * bytes) / count / MiB);
  const durationP = (p: number) => mid((r) => percentile(bf(r).functionDurationsMs, p), 0);
  const maxInFlight = runs[0]?.blobferry.maxInFlight ?? 0;
  const ratioVsRclone = round(blobferryObjectsPerS / rcloneObjectsPerS);
  const blobferryMachine = medianCpu(runs.map((r) => bf(r).machine));
  const rcloneMachine = medianCpu(runs.map((r) => r.rclone.machine));
  return {
    name: 'backfill',
    description:
      `${count} existing blobs of mixed sizes (${round(bytes / MiB, 1)} MiB, ${largeCount} over 16 MiB, ` +
      `the rest from 0 B to about 2 MiB) on a stack without events: ` +
      `blobferry backfill enqueues the blobs S3 lacks in batch messages, the backup function in one Functions host copies ` +
      `(up to ${maxInFlight} messages in flight: the committed host.json, each batch's blobs side by side); ` +
      `rclone copy with --transfers ${filesInFlight}`,
    blobferry: {
      objectsPerS: round(blobferryObjectsPerS, 1),
      mbPerS: toMbPerS(blobferryObjectsPerS),
      wallS: mid((r) => bf(r).wallS),
      // Both processes: the CLI (GNU time) and the Functions host (/proc, start-up included).
      cpuS: mid((r) => bf(r).cli.cpuS + bf(r).host.cpuS),
      cliCpuS: mid((r) => bf(r).cli.cpuS),
      hostCpuS: mid((r) => bf(r).host.cpuS),
      hostStartupCpuS: mid((r) => bf(r).hostStartupCpuS),
      // The larger of the two processes' peaks (they run on different machines in production); each below.
      peakRssMiB: peak((r) => Math.max(bf(r).cli.peakRssMiB, bf(r).host.peakRssMiB)),
      cliPeakRssMiB: peak((r) => bf(r).cli.peakRssMiB),
      hostPeakRssMiB: peak((r) => bf(r).host.peakRssMiB),
      cliWallS: mid((r) => bf(r).cli.wallS),
      cliListAndEnqueueS: mid((r) => bf(r).cliListAndEnqueueS),
      enqueueObjectsPerS: mid((r) => count / bf(r).cli.wallS, 1),
      firstCopyAfterMs: mid((r) => bf(r).firstCopyAfterMs, 0),
      lastCopyAfterMs: mid((r) => bf(r).lastCopyAfterMs, 0),
      drainObjectsPerS: mid((r) => bf(r).drainObjectsPerS, 1),
      queueDepthPeak: Math.max(...runs.map((r) => bf(r).queueDepthPeak)),
      functionDurationP50Ms: durationP(50),
      functionDurationP95Ms: durationP(95),
      maxInFlight,
      redelivered: Math.max(...runs.map((r) => bf(r).redelivered)),
      // Every request to the queue service (CLI and host), per blob: one message per blob costs a put and a delete
      // each, and a get per host.json batchSize messages.
      queueRequestsPerBlob: mid((r) => queueRequestTotal(bf(r).queueRequests) / count, 3),
      queueRequestsPerBlobByKind: Object.fromEntries(
        QUEUE_REQUEST_KINDS.map((kind) => [kind, mid((r) => bf(r).queueRequests[kind] / count, 3)]),
      ),
      outcomes: runs[0]?.blobferry.outcomes ?? {},
      machineCpu: { ...blobferryMachine },
      path: PATH,
    },
    rclone: {
      objectsPerS: round(rcloneObjectsPerS, 1),
      mbPerS: toMbPerS(rcloneObjectsPerS),
      ...medianUsage(runs.map((r) => r.rclone)),
      machineCpu: { ...rcloneMachine },
      ...retriedAttempts(runs.map((r) => r.rclone)),
    },
    limit: {
      objectsPerS: round(limit, 1),
      mbPerS: toMbPerS(limit),
      boundBy: azureRead <= s3Write ? 'azurite-read' : 's3-write',
      azuriteReadObjectsPerS: round(azureRead, 1),
      s3WriteObjectsPerS: round(s3Write, 1),
      machineCpuObjectsPerS: cpuBoundObjectsPerS(blobferryMachine, count),
      withoutBlobferryCpuObjectsPerS: cpuBoundObjectsPerS(blobferryMachine, count, BLOBFERRY_ROLES),
    },
    ratioVsRclone,
    fractionOfLimit: round(blobferryObjectsPerS / limit),
    // Issue 32: with batched messages.
    targets: [{ target: '>= 1.5x rclone objects/s', met: ratioVsRclone >= 1.5, actual: `${ratioVsRclone}x` }],
    notes: [
      `measured path: ${PATH}`,
      "rate: blobferry's from the backfill command's start to the queue drained, every object in S3; rclone's over its run",
      "cpuS: the CLI's plus the Functions host's, start-up included; peakRssMiB: the larger of the two processes' peaks",
      `queueDepthPeak: sampled every ${QUEUE_SAMPLE_MS} ms; drainObjectsPerS: from the first copy to the last, one Functions host`,
      'queueRequestsPerBlob: requests to the queue service (a counting proxy in front of Azurite) by the CLI and the host ' +
        '(puts, gets including empty polls, deletes, lease renewals), from the command to the queue drained, per blob',
      MACHINE_CPU_NOTE,
      MACHINE_CPU_BOUND_NOTE,
      'limit: Azurite reads of the set (curl) and S3 writes of the same sizes (thin client), each alone',
      FIGURES_NOTE,
    ],
  };
}
