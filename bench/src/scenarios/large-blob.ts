import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { Stack } from '@blobferry/local-cloud';
import { alternatingRuns, type RunSteps } from '../alternating-runs.js';
import { azureContainer, s3Client } from '../clients.js';
import { curlReadBlobs } from '../curl-reads.js';
import { withCloudProcess } from '../local-cloud-process.js';
import { COPY_ROLE, medianCpu, withMachineCpu, type MachineCpu } from '../machine-cpu.js';
import type { Measurement } from '../measure.js';
import { medianMbPerS, medianUsage } from '../median-figures.js';
import { retriedAttempts, runRclone, writeRcloneConfig } from '../rclone.js';
import { FIGURES_NOTE, runLimit, runWorker, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { uploadLargeBlob } from '../seed.js';
import { MiB, formatBytes, median, round } from '../stats.js';

// One large blob, Azure -> S3: libs/transfer's copyBlobToS3 against `rclone copyto` with the same part size and
// parts in flight; the limit is Azurite's ranged reads alone vs the S3 endpoint's multipart writes alone.

const CONTAINER = 'bench-large';
const RSS_TARGET_MIB = 256;

/** What the blobferry-copy worker prints: its copy's own duration and its memory at its peak RSS. */
interface CopyWorkerResult {
  durationMs: number;
  memoryAtPeakRss: Record<string, number>;
}

/** A copy by the worker: its process measured, its memory at its peak RSS, and copyBlobToS3's own seconds. */
type CopyMeasurement = Measurement & { memoryAtPeakRss: Record<string, number>; copyS: number };

interface RunFigures {
  blobferry: CopyMeasurement & { machine: MachineCpu };
  blobferrySmall: CopyMeasurement;
  /** First run only: a secondary figure, not worth three more 1 GiB copies on a shared 2-core machine. */
  blobferryNoMd5: Measurement | undefined;
  rclone: Measurement & { machine: MachineCpu };
  azureRead: Measurement;
  s3Write: Measurement & { machine: MachineCpu };
}

/** What every run of the scenario works on. */
interface LargeBlobSetup {
  context: BenchContext;
  stack: Stack;
  rcloneConf: string;
  /** Throws unless the object at `key` has `bytes` bytes. */
  expectSize(key: string, bytes: number): Promise<void>;
}

async function prepare(context: BenchContext, stack: Stack): Promise<LargeBlobSetup> {
  const { size, comparisonSize } = context.profile.largeBlob;
  const container = azureContainer(stack, CONTAINER);
  await container.createIfNotExists();
  context.log(`large-blob: uploading ${formatBytes(size)} and ${formatBytes(comparisonSize)} blobs to Azurite`);
  await uploadLargeBlob(container, 'large.bin', size);
  await uploadLargeBlob(container, 'large-no-md5.bin', size, { contentMd5: false });
  await uploadLargeBlob(container, 'comparison.bin', comparisonSize);
  const s3 = s3Client(stack);
  return {
    context,
    stack,
    rcloneConf: await writeRcloneConfig(context.workDir, stack, context.profile.tuning),
    expectSize: async (key, bytes) => {
      const head = await s3.send(new HeadObjectCommand({ Bucket: stack.aws.bucket, Key: key }));
      if (head.ContentLength !== bytes) throw new Error(`${key} has ${head.ContentLength} bytes, expected ${bytes}`);
    },
  };
}

interface MeasureCopyWorkerOptions {
  blobName: string;
  key: string;
}

interface CopyByWorkerOptions extends MeasureCopyWorkerOptions {
  /** The blob's size, which the object in S3 must have. */
  bytes: number;
}

/** One blob copied by libs/transfer in the copy worker, then its size checked in S3. */
async function copyByWorker(setup: LargeBlobSetup, o: CopyByWorkerOptions): Promise<CopyMeasurement> {
  const copied = await measureCopyWorker(setup, o);
  await setup.expectSize(o.key, o.bytes);
  return copied;
}

async function measureCopyWorker(setup: LargeBlobSetup, o: MeasureCopyWorkerOptions): Promise<CopyMeasurement> {
  const { partSize, concurrency } = setup.context.profile.tuning;
  const { measurement, result } = await runWorker<CopyWorkerResult>('blobferry-copy', {
    stack: setup.stack,
    container: CONTAINER,
    blobName: o.blobName,
    key: o.key,
    partSize,
    concurrency,
  });
  return { ...measurement, memoryAtPeakRss: result.memoryAtPeakRss, copyS: result.durationMs / 1000 };
}

function stepsOf(setup: LargeBlobSetup, run: number): RunSteps<RunFigures> {
  const { context, stack } = setup;
  const { size, comparisonSize } = context.profile.largeBlob;
  const { partSize, concurrency } = context.profile.tuning;
  return {
    blobferry: async () => {
      const key = `large/blobferry/${run}`;
      // The size check after the window: the machine's CPU is the copy's alone.
      const copied = await withMachineCpu(COPY_ROLE, () => measureCopyWorker(setup, { blobName: 'large.bin', key }));
      await setup.expectSize(key, size);
      return copied;
    },
    blobferrySmall: () =>
      copyByWorker(setup, { blobName: 'comparison.bin', key: `large/blobferry-comparison/${run}`, bytes: comparisonSize }),
    blobferryNoMd5: async () =>
      run > 0 ? undefined : copyByWorker(setup, { blobName: 'large-no-md5.bin', key: `large/blobferry-no-md5/${run}`, bytes: size }),
    rclone: async () => {
      const key = `large/rclone/${run}`;
      const measured = await runRclone(setup.rcloneConf, ['copyto', `azure:${CONTAINER}/large.bin`, `s3:${stack.aws.bucket}/${key}`]);
      await setup.expectSize(key, size);
      return measured;
    },
    azureRead: () =>
      curlReadBlobs({ stack, container: CONTAINER, blobs: [{ name: 'large.bin', size }], partSize, concurrency, workDir: context.workDir }),
    s3Write: () =>
      withMachineCpu('thin client (limit)', () =>
        runLimit({ stack, op: 's3-write', keyPrefix: `large/limit/${run}/`, count: 1, size, partSize, concurrency }),
      ),
  };
}

export const largeBlob: Scenario = {
  name: 'large-blob',
  run: (context) =>
    withCloudProcess({ s3: context.s3 }, async (stack) => {
      const setup = await prepare(context, stack);
      const runs = await alternatingRuns({ context, label: 'large-blob', stepsOf: (run) => stepsOf(setup, run) });
      return summarize(context, runs);
    }),
};

function summarize(context: BenchContext, runs: RunFigures[]): ScenarioResult {
  const { size, comparisonSize } = context.profile.largeBlob;
  const { partSize, concurrency } = context.profile.tuning;
  const figures = (measured: Measurement[], bytes: number) => ({ mbPerS: medianMbPerS(measured, bytes), ...medianUsage(measured) });
  // What the resident memory was made of at the peak, in the run with the largest peak (the one reported).
  const memoryAtPeakRss = (pick: (r: RunFigures) => CopyMeasurement) =>
    runs.map(pick).reduce((a, b) => (b.peakRssMiB > a.peakRssMiB ? b : a)).memoryAtPeakRss;
  const blobferry = {
    ...figures(
      runs.map((r) => r.blobferry),
      size,
    ),
    memoryAtPeakRss: memoryAtPeakRss((r) => r.blobferry),
    machineCpu: { ...medianCpu(runs.map((r) => r.blobferry.machine)) },
  };
  const comparison = {
    ...figures(
      runs.map((r) => r.blobferrySmall),
      comparisonSize,
    ),
    memoryAtPeakRss: memoryAtPeakRss((r) => r.blobferrySmall),
  };
  const first = runs[0]?.blobferryNoMd5;
  const withoutContentMd5 = first && { ...figures([first], size), runs: 1 };
  const rclone = {
    ...figures(
      runs.map((r) => r.rclone),
      size,
    ),
    machineCpu: { ...medianCpu(runs.map((r) => r.rclone.machine)) },
    ...retriedAttempts(runs.map((r) => r.rclone)),
  };
  const azureRead = figures(
    runs.map((r) => r.azureRead),
    size,
  );
  const s3Write = figures(
    runs.map((r) => r.s3Write),
    size,
  );
  const limitMbPerS = Math.min(azureRead.mbPerS, s3Write.mbPerS);
  const ratioVsRclone = round(blobferry.mbPerS / rclone.mbPerS);
  const fractionOfLimit = round(blobferry.mbPerS / limitMbPerS);
  return {
    name: 'large-blob',
    description: `one ${formatBytes(size)} blob, part size ${formatBytes(partSize)}, ${concurrency} parts in flight`,
    blobferry: {
      ...blobferry,
      copyOnlyMbPerS: round(median(runs.map((r) => size / MiB / r.blobferry.copyS))),
      [`at${formatBytes(comparisonSize).replace(' ', '')}`]: comparison,
      withoutContentMd5,
    },
    rclone,
    limit: {
      mbPerS: round(limitMbPerS),
      boundBy: azureRead.mbPerS <= s3Write.mbPerS ? 'azurite-read' : 's3-write',
      azuriteReadMbPerS: azureRead.mbPerS,
      s3WriteMbPerS: s3Write.mbPerS,
      s3WriteMachineCpu: { ...medianCpu(runs.map((r) => r.s3Write.machine)) },
    },
    ratioVsRclone,
    fractionOfLimit,
    targets: [
      { target: '>= 1.2x rclone', met: ratioVsRclone >= 1.2, actual: `${ratioVsRclone}x` },
      { target: "CPU-seconds <= rclone's", met: blobferry.cpuS <= rclone.cpuS, actual: `${blobferry.cpuS} vs ${rclone.cpuS} s` },
      { target: '>= 0.9 of the limit', met: fractionOfLimit >= 0.9, actual: `${fractionOfLimit}` },
      { target: `peak RSS <= ${RSS_TARGET_MIB} MiB`, met: blobferry.peakRssMiB <= RSS_TARGET_MIB, actual: `${blobferry.peakRssMiB} MiB` },
      {
        // 10% slack: a Node process's RSS moves by a few MiB from run to run on its own.
        target: `peak RSS not above the ${formatBytes(comparisonSize)} case (+10%)`,
        met: blobferry.peakRssMiB <= comparison.peakRssMiB * 1.1,
        actual: `${blobferry.peakRssMiB} vs ${comparison.peakRssMiB} MiB`,
      },
    ],
    notes: [
      'the blob carries a Content-MD5; withoutContentMd5 (first run only) is the same copy of a blob without one',
      "rates over the tool's process, start-up included; copyOnlyMbPerS over copyBlobToS3's own duration",
      "memoryAtPeakRss: the copy worker's process.memoryUsage() at its highest RSS sample, in the run with the largest peak",
      "machineCpu (blobferry, rclone, limit.s3WriteMachineCpu): where the cores' time went during that run, by process role",
      'limit: Azurite ranged reads (curl) and S3 multipart writes (thin client), each alone, same part size and parts in flight',
      FIGURES_NOTE,
    ],
  };
}
