import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeStackFile } from '@blobferry/local-cloud';
import { backfillArgs, backfillEnv, expectAllEnqueued } from '../backfill-cli.js';
import { startBackupHost, type BackupHost, type CopiedBlob } from '../backup-host.js';
import { azureContainer } from '../clients.js';
import { curlReadBlobs } from '../curl-reads.js';
import { queueDepthReader } from '../endpoint-ops.js';
import { estateBlobs, totalBytes, type EstateBlob } from '../estate.js';
import { startCloudProcess } from '../local-cloud-process.js';
import { BLOBFERRY_ROLES, cpuBetween, cpuBoundObjectsPerS, medianCpu, snapshotCpu, withMachineCpu, type MachineCpu } from '../machine-cpu.js';
import { runMeasured, type Measurement } from '../measure.js';
import type { ProcessUsage } from '../proc-usage.js';
import { RCLONE_COMMON_FLAGS, rcloneEnv, retriedAttempts, writeRcloneConfig } from '../rclone.js';
import { profilingNodeArgs, rotate, runLimit, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { uploadBlobsOfSizes } from '../seed.js';
import { MiB, median, percentile, round } from '../stats.js';

// Backing up an existing estate through the Function fleet (issue 16): blobs that predate the Event Grid
// subscription, on a local cloud started without events, so nothing reaches the queue or S3 by itself. The bench
// starts the backup function's Functions host (its own process), then runs `blobferry backfill` (its own process):
// it lists the container and the bucket prefix, classifies like verify and writes one queue message per blob S3
// lacks; the host consumes them and copies. blobferry's rate is from the start of the backfill command to the
// queue drained with every object in S3; rclone's is `rclone copy` of the same container, in the same run.

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

async function backfillRun(o: {
  context: BenchContext;
  stack: Stack;
  stackFile: string;
  blobs: EstateBlob[];
  bytes: number;
  run: number;
}): Promise<BlobferryFigures> {
  const { context, stack, blobs, run } = o;
  const { filesInFlight, partSize, concurrency } = context.profile.tuning;
  const keyPrefix = `backfill/blobferry/${run}/`;
  const keys = blobs.map((blob) => backupKeyFor({ account: stack.azure.accountName, container: CONTAINER, blobName: blob.name }, { prefix: keyPrefix }));
  const queue = queueDepthReader(stack, stack.events.queueName);
  let host: BackupHost | undefined;
  let sampling = true;
  try {
    const before = await queue.depth();
    if (before !== 0) throw new Error(`the backup queue holds ${before} messages before the backfill (events should be off)`);
    host = await startBackupHost({ stack, keyPrefix, partSize, concurrency, log: context.log });
    const hostStartupCpuS = (await host.usage()).cpuS;

    context.log(`backfill run ${run + 1}/${context.runs}: blobferry backfill of ${blobs.length} blobs (${round(o.bytes / MiB, 1)} MiB)`);
    const cpuAtStart = await snapshotCpu();
    const startedAt = Date.now();
    let queueDepthPeak = 0;
    const sampler = (async () => {
      while (sampling) {
        queueDepthPeak = Math.max(queueDepthPeak, await queue.depth());
        await sleep(QUEUE_SAMPLE_MS);
      }
    })();
    const cli = await runMeasured(
      process.execPath,
      [
        ...profilingNodeArgs(),
        ...backfillArgs({
          stackFile: o.stackFile,
          container: CONTAINER,
          targetPrefix: keyPrefix,
          journal: join(context.workDir, `backfill-journal-${run}-${Date.now()}.ndjson`),
          concurrency: filesInFlight,
        }),
      ],
      { env: backfillEnv(), cwd: context.workDir },
    );
    const summary = expectAllEnqueued(cli.stdout, blobs.length);
    context.log(`backfill run ${run + 1}/${context.runs}: ${summary.enqueued} enqueued in ${round(cli.wallS, 1)} s, waiting for the queue to drain`);
    const copies = await host.copied(keys, 120_000 + blobs.length * 250 + (o.bytes / MiB) * 200);
    // Every blob copied; the last messages are deleted just after their copy is logged.
    const drainDeadline = Date.now() + 60_000;
    while ((await queue.depth()) !== 0) {
      if (Date.now() > drainDeadline) throw new Error('every blob is copied but the backup queue still holds messages after 60 s');
      await sleep(20);
    }
    const drainedAt = Date.now();
    // The CLI has exited by now: GNU time measured it.
    const machine = cpuBetween(cpuAtStart, await snapshotCpu(), { 'blobferry CLI': cli.cpuS });
    sampling = false;
    await sampler;
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
    };
  } finally {
    sampling = false;
    await host?.stop();
    queue.close();
  }
}

const PATH =
  'blobferry backfill (apps/verify-cli, the built bin, its own process: list + classify, one Event Grid-shaped message per missing blob) -> backup queue (Azurite) -> apps/backup-function (the deployed bundle): backupBlob (queue trigger) in the tools/functions-host process, federated credentials via the local STS, libs/transfer copy';

export const backfill: Scenario = {
  name: 'backfill',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const { count, largeCount } = context.profile.backfill;
    const { filesInFlight, partSize, concurrency } = context.profile.tuning;
    const blobs = estateBlobs(count, largeCount);
    const bytes = totalBytes(blobs);
    // No events: an estate that predates the subscription. The backup queue exists all the same.
    const cloud = await startCloudProcess({ s3: context.s3 });
    const runs: RunFigures[] = [];
    try {
      const { stack } = cloud;
      if (stack.events.delivery !== 'off') throw new Error(`the local cloud delivers events (${stack.events.delivery}); a backfill needs them off`);
      const seedStarted = Date.now();
      const container = azureContainer(stack, CONTAINER);
      await container.createIfNotExists();
      await uploadBlobsOfSizes({ container, blobs, concurrency: SEED_CONCURRENCY });
      context.log(`backfill: seeded ${count} blobs (${round(bytes / MiB, 1)} MiB, ${largeCount} over 16 MiB) in ${round((Date.now() - seedStarted) / 1000, 1)} s`);
      const stackFile = join(context.workDir, 'backfill-stack.json');
      await writeStackFile(stackFile, stack);
      const rcloneConf = await writeRcloneConfig(context.workDir, stack, { partSize, concurrency });

      for (let run = 0; run < context.runs; run++) {
        const figures: Partial<RunFigures> = {};
        const steps: Record<keyof RunFigures, () => Promise<void>> = {
          blobferry: async () => {
            figures.blobferry = await backfillRun({ context, stack, stackFile, blobs, bytes, run });
          },
          rclone: async () => {
            const target = `backfill/rclone/${run}`;
            figures.rclone = await withMachineCpu('rclone', () => runMeasured(
              'rclone',
              ['copy', `azure:${CONTAINER}`, `s3:${stack.aws.bucket}/${target}`, '--transfers', String(filesInFlight), '--checkers', String(filesInFlight), ...RCLONE_COMMON_FLAGS],
              { env: rcloneEnv(rcloneConf) },
            ));
            const inS3 = await objectsUnder(stack, `${target}/`);
            if (inS3 !== count) throw new Error(`rclone copy left ${inS3} of ${count} objects in S3`);
          },
          azureRead: async () => {
            // Blobs over a part in part-sized ranges, as both tools read them.
            figures.azureRead = await curlReadBlobs({ stack, container: CONTAINER, blobs, partSize, concurrency: filesInFlight, workDir: context.workDir });
          },
          s3Write: async () => {
            figures.s3Write = await runLimit({
              stack,
              op: 's3-write-sizes',
              keyPrefix: `backfill/limit/${run}/`,
              sizes: blobs.map((blob) => blob.size),
              partSize,
              concurrency: filesInFlight,
              partsInFlight: concurrency,
            });
          },
        };
        for (const step of rotate(Object.keys(steps) as Array<keyof RunFigures>, run)) {
          if (step !== 'blobferry') context.log(`backfill run ${run + 1}/${context.runs}: ${step}`);
          await steps[step]();
        }
        runs.push(figures as RunFigures);
      }
    } finally {
      await cloud.stop();
    }
    return summarize({ count, largeCount, bytes, filesInFlight, runs });
  },
};

function summarize(o: { count: number; largeCount: number; bytes: number; filesInFlight: number; runs: RunFigures[] }): ScenarioResult {
  const { count, bytes, runs } = o;
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
  const blobferryMachine = medianCpu(runs.map((r) => bf(r).machine));
  const rcloneMachine = medianCpu(runs.map((r) => r.rclone.machine));
  return {
    name: 'backfill',
    description:
      `${count} existing blobs of mixed sizes (${round(bytes / MiB, 1)} MiB, ${o.largeCount} over 16 MiB, the rest from 0 B to about 2 MiB) on a stack without events: ` +
      `blobferry backfill enqueues one message per blob S3 lacks, the backup function in one Functions host copies ` +
      `(up to ${maxInFlight} messages in flight: the committed host.json); rclone copy with --transfers ${o.filesInFlight}`,
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
      outcomes: runs[0]?.blobferry.outcomes ?? {},
      machineCpu: { ...blobferryMachine },
      path: PATH,
    },
    rclone: {
      objectsPerS: round(rcloneObjectsPerS, 1),
      mbPerS: toMbPerS(rcloneObjectsPerS),
      wallS: mid((r) => r.rclone.wallS),
      cpuS: mid((r) => r.rclone.cpuS),
      peakRssMiB: peak((r) => r.rclone.peakRssMiB),
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
    ratioVsRclone: round(blobferryObjectsPerS / rcloneObjectsPerS),
    fractionOfLimit: round(blobferryObjectsPerS / limit),
    targets: [],
    notes: [
      `measured path: ${PATH}`,
      `blobferry's rate is from the start of the backfill command (apps/verify-cli's built bin) to the backup queue seen empty with every blob's copy logged and every object counted in S3; rclone's is its own process's wall time over the same container`,
      'blobferry cpuS is the sum of the CLI process (GNU time, its start-up included) and the Functions host process (utime+stime from /proc, read just before it is stopped, start-up included: hostStartupCpuS is the part spent before the backfill began); peakRssMiB is the larger of the two processes\' peaks (cliPeakRssMiB under GNU time, hostPeakRssMiB VmHWM), which run on different machines in production',
      `cliWallS/enqueueObjectsPerS: the backfill command alone (listing both sides, classifying, writing the messages); cliListAndEnqueueS is its own summary's durationMs (start-up excluded); drainObjectsPerS: copies per second from the first copy to the last; queueDepthPeak: the most messages seen waiting (sampled every ${QUEUE_SAMPLE_MS} ms); firstCopyAfterMs includes the idle host's polling back-off (host.json maxPollingInterval)`,
      `machineCpu: where the ${blobferryMachine.cores} cores' time went in each tool's window (blobferry: the backfill command's start to the queue drained; rclone: its run), by process role, median of runs; busyCores near ${blobferryMachine.cores} means the window was bound by the machine, not by one process. limit.machineCpuObjectsPerS: ${blobferryMachine.cores} cores over blobferry's window's CPU-seconds per object, every process together; withoutBlobferryCpuObjectsPerS: the same without blobferry's own processes (the CLI and the Functions host), the rate no blobferry could pass on this machine however little CPU it used`,
      'one Functions host: on Azure, Flex Consumption adds instances as the queue grows (each with the same messages in flight); here the whole drain runs on one',
      'the limit: reading every blob from Azurite with curl (blobs over a part in part-sized ranges) and writing the same sizes to S3 with the thin client (16 objects in flight, 4 parts each), each alone',
    ],
  };
}
