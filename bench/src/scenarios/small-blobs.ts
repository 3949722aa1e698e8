import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { measureRun, type RunSteps } from '../alternating-runs.js';
import { hostQueueLimits, startBackupHost, type BackupHost } from '../backup-host.js';
import { azureContainer } from '../clients.js';
import { curlReadBlobs } from '../curl-reads.js';
import { withCloudProcess } from '../local-cloud-process.js';
import {
  BLOBFERRY_ROLES,
  MACHINE_CPU_BOUND_NOTE,
  MACHINE_CPU_NOTE,
  cpuBetween,
  cpuBoundObjectsPerS,
  medianCpu,
  snapshotCpu,
  type MachineCpu,
} from '../machine-cpu.js';
import type { Measurement } from '../measure.js';
import { medianObjectsPerS, medianUsage } from '../median-figures.js';
import type { ProcessUsage } from '../proc-usage.js';
import { retriedAttempts, runRclone, writeRcloneConfig } from '../rclone.js';
import { FIGURES_NOTE, runLimit, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { uploadSmallBlobs } from '../seed.js';
import { formatBytes, median, percentile, round } from '../stats.js';

// Many small blobs backed up by blobferry through the real event path (upload, BlobCreated, backup queue, the
// backup function in its Functions host) against `rclone copy` of the same set: bench/README.md, "small-blobs".

/** blobferry's step of one run: the uploads that raise the events, and the host's copies. */
interface BlobferryFigures {
  /** The Functions host process's CPU and peak RSS, start-up included. */
  usage: ProcessUsage;
  /** CPU the host spent starting (loading the app, the health check's STS exchange) before the first upload. */
  startupCpuS: number;
  maxInFlight: number;
  objectsPerS: number;
  uploadObjectsPerS: number;
  /** From the first upload to the first copy: how long the first event took through the queue to a copy. */
  firstCopyAfterMs: number;
  latenciesMs: number[];
  functionDurationsMs: number[];
  /** Blobs whose first copy came from a message received more than once. */
  redelivered: number;
  outcomes: Record<string, number>;
  /** Where the machine's CPU went from the first upload to the last copy. */
  machine: MachineCpu;
}

interface RunFigures {
  blobferry: BlobferryFigures;
  /** rclone's run, and where the machine's CPU went during it. */
  rclone: Measurement & { machine: MachineCpu };
  azureRead: Measurement;
  s3Write: Measurement;
  /** The same blobs through the SDK requests alone (sdk-floor.ts): what blobferry's CPU cannot go below. */
  sdkFloor: { cpuS: number; wallS: number };
}

/** What one run works on: a local cloud of its own, with events, and a fresh container. */
interface SmallBlobsRun {
  context: BenchContext;
  stack: Stack;
  run: number;
  container: string;
  names: string[];
}

/** blobferry's step: a Functions host started, then the uploads, until every blob's copy is logged. */
async function uploadAndBackUp(r: SmallBlobsRun): Promise<BlobferryFigures> {
  const { context, stack, run, container, names } = r;
  const { size } = context.profile.smallBlobs;
  const { filesInFlight, partSize, concurrency } = context.profile.tuning;
  const keyPrefix = `small/blobferry/${run}/`;
  const keyOf = (blobName: string) => backupKeyFor({ account: stack.azure.accountName, container, blobName }, { prefix: keyPrefix });
  let host: BackupHost | undefined;
  try {
    host = await startBackupHost({ stack, keyPrefix, partSize, concurrency, log: context.log });
    const startupCpuS = (await host.usage()).cpuS;

    context.log(
      `small-blobs run ${run + 1}/${context.runs}: uploading ${names.length} x ${formatBytes(size)} (the host backs them up meanwhile)`,
    );
    const cpuAtUpload = await snapshotCpu();
    const uploadStartedAt = Date.now();
    const seeded = await uploadSmallBlobs({ container: azureContainer(stack, container), names, size, concurrency: filesInFlight });
    const uploadEndedAt = Date.now();
    const copies = await host.copied(names.map(keyOf), 120_000 + names.length * 200);
    const machine = cpuBetween(cpuAtUpload, await snapshotCpu());
    // Just before stopping: stopping drains the host, and its exit takes /proc/<pid> away.
    const usage = await host.usage();
    const outcomes = host.outcomes();
    await host.stop();
    // A message can be acknowledged without a copy: count what really is in S3.
    const inS3 = await runLimit({ stack, op: 's3-list', prefixes: [keyPrefix], concurrency: 1 });
    if (inS3.objects !== names.length) throw new Error(`${inS3.objects} of ${names.length} blobs are in S3 under ${keyPrefix}`);
    const missing = { copiedAt: NaN, durationMs: NaN, dequeueCount: NaN };
    const firsts = seeded.map((blob) => ({ blob, copy: copies.get(keyOf(blob.name)) ?? missing }));
    const copiedAts = firsts.map(({ copy }) => copy.copiedAt);
    return {
      usage,
      startupCpuS,
      maxInFlight: host.maxInFlight,
      objectsPerS: names.length / ((Math.max(...copiedAts) - uploadStartedAt) / 1000),
      uploadObjectsPerS: names.length / ((uploadEndedAt - uploadStartedAt) / 1000),
      firstCopyAfterMs: Math.min(...copiedAts) - uploadStartedAt,
      latenciesMs: firsts.map(({ blob, copy }) => copy.copiedAt - blob.uploadedAt),
      functionDurationsMs: firsts.map(({ copy }) => copy.durationMs),
      redelivered: firsts.filter(({ copy }) => copy.dequeueCount > 1).length,
      outcomes,
      machine,
    };
  } finally {
    await host?.stop();
  }
}

/** One run's steps, in this order: blobferry's uploads make the set the others read. */
function stepsOf(r: SmallBlobsRun, rcloneConf: string): RunSteps<RunFigures> {
  const { context, stack, run, container, names } = r;
  const { count, size } = context.profile.smallBlobs;
  const { filesInFlight, partSize } = context.profile.tuning;
  return {
    blobferry: () => uploadAndBackUp(r),
    rclone: () =>
      runRclone(rcloneConf, [
        'copy',
        `azure:${container}`,
        `s3:${stack.aws.bucket}/small/rclone/${run}`,
        '--transfers',
        String(filesInFlight),
        '--checkers',
        String(filesInFlight),
      ]),
    azureRead: () =>
      curlReadBlobs({
        stack,
        container,
        blobs: names.map((name) => ({ name, size })),
        concurrency: filesInFlight,
        workDir: context.workDir,
      }),
    s3Write: () => runLimit({ stack, op: 's3-write', keyPrefix: `small/limit/${run}/`, count, size, partSize, concurrency: filesInFlight }),
    sdkFloor: async () => {
      const { batchSize, maxInFlight } = await hostQueueLimits();
      const floor = await runLimit({
        stack,
        op: 'sdk-floor',
        container,
        names,
        keyPrefix: `small/sdk-floor/${run}/`,
        batchSize,
        inFlight: maxInFlight,
        concurrency: filesInFlight,
      });
      return { cpuS: floor.opCpuS, wallS: floor.wallS };
    },
  };
}

/** One run on a local cloud of its own (events on), so every run starts from an empty queue and bucket. */
function oneRun(context: BenchContext, run: number): Promise<RunFigures> {
  const { filesInFlight } = context.profile.tuning;
  return withCloudProcess({ s3: context.s3, events: { concurrency: filesInFlight } }, async (stack) => {
    const container = `bench-small-${run}`;
    await azureContainer(stack, container).createIfNotExists();
    const names = Array.from({ length: context.profile.smallBlobs.count }, (_, i) => `f${String(i).padStart(6, '0')}.bin`);
    const rcloneConf = await writeRcloneConfig(context.workDir, stack, context.profile.tuning);
    const steps = stepsOf({ context, stack, run, container, names }, rcloneConf);
    return measureRun({ context, label: 'small-blobs', run, steps, order: 'as-listed' });
  });
}

/** The path a blob takes through blobferry in this scenario (the report's `blobferry.path`). */
const PATH = [
  'local Event Grid',
  'backup queue (Azurite)',
  'apps/backup-function (the deployed bundle): backupBlob (queue trigger) in the tools/functions-host process, ' +
    'federated credentials via the local STS, libs/transfer copy',
].join(' -> ');

export const smallBlobs: Scenario = {
  name: 'small-blobs',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const runs: RunFigures[] = [];
    for (let run = 0; run < context.runs; run++) runs.push(await oneRun(context, run));
    return summarize(context, runs);
  },
};

function summarize(context: BenchContext, runs: RunFigures[]): ScenarioResult {
  const { count, size } = context.profile.smallBlobs;
  const { filesInFlight } = context.profile.tuning;
  const bf = (r: RunFigures) => r.blobferry;
  const blobferryObjectsPerS = round(median(runs.map((r) => bf(r).objectsPerS)), 1);
  const rcloneObjectsPerS = medianObjectsPerS(
    runs.map((r) => r.rclone),
    count,
    1,
  );
  const azureRead = medianObjectsPerS(
    runs.map((r) => r.azureRead),
    count,
    1,
  );
  const s3Write = medianObjectsPerS(
    runs.map((r) => r.s3Write),
    count,
    1,
  );
  const limit = Math.min(azureRead, s3Write);
  const blobferryMachine = medianCpu(runs.map((r) => bf(r).machine));
  const rcloneMachine = medianCpu(runs.map((r) => r.rclone.machine));
  const sdkFloorCpuS = round(median(runs.map((r) => r.sdkFloor.cpuS)));

  const ratioVsRclone = round(blobferryObjectsPerS / rcloneObjectsPerS);
  const latencyP = (pick: (f: BlobferryFigures) => number[], p: number) => round(median(runs.map((r) => percentile(pick(bf(r)), p))), 0);
  const maxInFlight = runs[0]?.blobferry.maxInFlight ?? 0;
  return {
    name: 'small-blobs',
    description:
      `${count} blobs of ${formatBytes(size)}, each announced by BlobCreated through the backup queue to the backup function ` +
      `(up to ${maxInFlight} messages in flight: the committed host.json's batchSize + newBatchThreshold); ` +
      `rclone copy with --transfers ${filesInFlight}`,
    blobferry: {
      objectsPerS: blobferryObjectsPerS,
      latencyP50Ms: latencyP((r) => r.latenciesMs, 50),
      latencyP95Ms: latencyP((r) => r.latenciesMs, 95),
      functionDurationP50Ms: latencyP((r) => r.functionDurationsMs, 50),
      functionDurationP95Ms: latencyP((r) => r.functionDurationsMs, 95),
      uploadObjectsPerS: round(median(runs.map((r) => bf(r).uploadObjectsPerS)), 1),
      firstCopyAfterMs: round(median(runs.map((r) => bf(r).firstCopyAfterMs)), 0),
      maxInFlight,
      redelivered: Math.max(...runs.map((r) => bf(r).redelivered)),
      outcomes: runs[0]?.blobferry.outcomes ?? {},
      cpuS: round(median(runs.map((r) => bf(r).usage.cpuS))),
      startupCpuS: round(median(runs.map((r) => bf(r).startupCpuS))),
      peakRssMiB: round(Math.max(...runs.map((r) => bf(r).usage.peakRssMiB)), 1),
      machineCpu: { ...blobferryMachine },
      path: PATH,
    },
    rclone: {
      objectsPerS: rcloneObjectsPerS,
      ...medianUsage(runs.map((r) => r.rclone)),
      machineCpu: { ...rcloneMachine },
      ...retriedAttempts(runs.map((r) => r.rclone)),
    },
    limit: {
      objectsPerS: limit,
      boundBy: azureRead <= s3Write ? 'azurite-read' : 's3-write',
      azuriteReadObjectsPerS: azureRead,
      s3WriteObjectsPerS: s3Write,
      machineCpuObjectsPerS: cpuBoundObjectsPerS(blobferryMachine, count),
      withoutBlobferryCpuObjectsPerS: cpuBoundObjectsPerS(blobferryMachine, count, BLOBFERRY_ROLES),
      sdkFloorCpuS,
      sdkFloorCpuPerObjectVsRclone: round(sdkFloorCpuS / Math.max(median(runs.map((r) => r.rclone.cpuS)), 1e-9)),
    },
    ratioVsRclone,
    fractionOfLimit: round(blobferryObjectsPerS / limit),
    targets: [
      { target: '>= 1.0x rclone objects/s', met: ratioVsRclone >= 1, actual: `${ratioVsRclone}x` },
      (() => {
        // Both processes' CPU-seconds, start-up included, over the same object count.
        const cpuPerObject = median(runs.map((r) => bf(r).usage.cpuS)) / Math.max(median(runs.map((r) => r.rclone.cpuS)), 1e-9);
        return { target: "CPU per object <= 2x rclone's", met: cpuPerObject <= 2, actual: `${round(cpuPerObject)}x` };
      })(),
    ],
    notes: [
      `measured path: ${PATH}`,
      "objects/s: blobferry's from the first upload to the last copy logged, rclone's over its run on the uploaded set",
      "cpuS, peakRssMiB: the Functions host process's, start-up included (startupCpuS: its part before the first upload)",
      MACHINE_CPU_NOTE,
      MACHINE_CPU_BOUND_NOTE,
      `limit.sdkFloorCpuS: the SDK requests alone for the same ${count} blobs (src/sdk-floor.ts), start-up excluded`,
      "latency: from the upload acknowledged to the copy logged; functionDuration: the function's own time per message",
      FIGURES_NOTE,
    ],
  };
}
