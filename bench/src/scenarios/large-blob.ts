import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { azureContainer, s3Client } from '../clients.js';
import { startCloudProcess } from '../local-cloud-process.js';
import { COPY_ROLE, medianCpu, withMachineCpu, type MachineCpu } from '../machine-cpu.js';
import type { Measurement } from '../measure.js';
import { runMeasured } from '../measure.js';
import { curlReadBlobs } from '../curl-reads.js';
import { RCLONE_COMMON_FLAGS, rcloneEnv, retriedAttempts, writeRcloneConfig } from '../rclone.js';
import { rotate, runLimit, runWorker, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
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

type CopyMeasurement = Measurement & { memoryAtPeakRss: Record<string, number> };

interface RunFigures {
  blobferry: CopyMeasurement & { machine: MachineCpu };
  /** copyBlobToS3's own duration, without the process start-up. */
  blobferryCopyS: number;
  blobferrySmall: CopyMeasurement;
  /** First run only: a secondary figure, not worth three more 1 GiB copies on a shared 2-core machine. */
  blobferryNoMd5?: Measurement;
  rclone: Measurement & { machine: MachineCpu };
  azureRead: Measurement;
  s3Write: Measurement & { machine: MachineCpu };
}

export const largeBlob: Scenario = {
  name: 'large-blob',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const { size, comparisonSize } = context.profile.largeBlob;
    const { partSize, concurrency } = context.profile.tuning;
    const cloud = await startCloudProcess({ s3: context.s3 });
    try {
      const { stack } = cloud;
      const container = azureContainer(stack, CONTAINER);
      await container.createIfNotExists();
      context.log(`large-blob: uploading ${formatBytes(size)} and ${formatBytes(comparisonSize)} blobs to Azurite`);
      await uploadLargeBlob(container, 'large.bin', size);
      await uploadLargeBlob(container, 'large-no-md5.bin', size, { contentMd5: false });
      await uploadLargeBlob(container, 'comparison.bin', comparisonSize);
      const rcloneConf = await writeRcloneConfig(context.workDir, stack, { partSize, concurrency });
      const s3 = s3Client(stack);
      const bucket = stack.aws.bucket;
      const expectSize = async (key: string, bytes: number) => {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        if (head.ContentLength !== bytes) throw new Error(`${key} has ${head.ContentLength} bytes, expected ${bytes}`);
      };

      /** One blob copied by libs/transfer in the copy worker, with its measurement and its memory at peak RSS. */
      const copyWorker = async (blobName: string, key: string) => {
        const { measurement, result } = await runWorker<CopyWorkerResult>('blobferry-copy', { stack, container: CONTAINER, blobName, key, partSize, concurrency });
        return { ...measurement, memoryAtPeakRss: result.memoryAtPeakRss, copyS: result.durationMs / 1000 };
      };

      const runs: RunFigures[] = [];
      for (let run = 0; run < context.runs; run++) {
        const figures: Partial<RunFigures> = {};
        const steps: Record<Exclude<keyof RunFigures, 'blobferryCopyS'>, () => Promise<void>> = {
          blobferry: async () => {
            const key = `large/blobferry/${run}`;
            const copied = await withMachineCpu(COPY_ROLE, () => copyWorker('large.bin', key));
            figures.blobferry = copied;
            figures.blobferryCopyS = copied.copyS;
            await expectSize(key, size);
          },
          blobferrySmall: async () => {
            const key = `large/blobferry-comparison/${run}`;
            figures.blobferrySmall = await copyWorker('comparison.bin', key);
            await expectSize(key, comparisonSize);
          },
          blobferryNoMd5: async () => {
            if (run > 0) return;
            const key = `large/blobferry-no-md5/${run}`;
            figures.blobferryNoMd5 = await copyWorker('large-no-md5.bin', key);
            await expectSize(key, size);
          },
          rclone: async () => {
            const key = `large/rclone/${run}`;
            figures.rclone = await withMachineCpu('rclone', () =>
              runMeasured('rclone', ['copyto', `azure:${CONTAINER}/large.bin`, `s3:${bucket}/${key}`, ...RCLONE_COMMON_FLAGS], {
                env: rcloneEnv(rcloneConf),
              }),
            );
            await expectSize(key, size);
          },
          azureRead: async () => {
            figures.azureRead = await curlReadBlobs({ stack, container: CONTAINER, blobs: [{ name: 'large.bin', size }], partSize, concurrency, workDir: context.workDir });
          },
          s3Write: async () => {
            figures.s3Write = await withMachineCpu('thin client (limit)', () =>
              runLimit({ stack, op: 's3-write', keyPrefix: `large/limit/${run}/`, count: 1, size, partSize, concurrency }),
            );
          },
        };
        for (const step of rotate(Object.keys(steps) as Array<keyof typeof steps>, run)) {
          context.log(`large-blob run ${run + 1}/${context.runs}: ${step}`);
          await steps[step]();
        }
        runs.push(figures as RunFigures);
      }

      const rate = (m: Measurement, bytes: number) => bytes / MiB / m.wallS;
      const summarize = (pick: (r: RunFigures) => Measurement, bytes: number) => ({
        mbPerS: round(median(runs.map((r) => rate(pick(r), bytes)))),
        wallS: round(median(runs.map((r) => pick(r).wallS))),
        cpuS: round(median(runs.map((r) => pick(r).cpuS))),
        peakRssMiB: round(Math.max(...runs.map((r) => pick(r).peakRssMiB)), 1),
      });
      // What the resident memory was made of at the peak, in the run with the largest peak (the one reported).
      const memoryAtPeakRss = (pick: (r: RunFigures) => CopyMeasurement) =>
        runs.map(pick).reduce((a, b) => (b.peakRssMiB > a.peakRssMiB ? b : a)).memoryAtPeakRss;
      const blobferry = {
        ...summarize((r) => r.blobferry, size),
        memoryAtPeakRss: memoryAtPeakRss((r) => r.blobferry),
        machineCpu: { ...medianCpu(runs.map((r) => r.blobferry.machine)) },
      };
      const comparison = { ...summarize((r) => r.blobferrySmall, comparisonSize), memoryAtPeakRss: memoryAtPeakRss((r) => r.blobferrySmall) };
      const first = runs[0]?.blobferryNoMd5;
      const withoutContentMd5 = first && {
        mbPerS: round(size / MiB / first.wallS),
        wallS: round(first.wallS),
        cpuS: round(first.cpuS),
        peakRssMiB: round(first.peakRssMiB, 1),
        runs: 1,
      };
      const rclone = { ...summarize((r) => r.rclone, size), machineCpu: { ...medianCpu(runs.map((r) => r.rclone.machine)) }, ...retriedAttempts(runs.map((r) => r.rclone)) };
      const azureRead = summarize((r) => r.azureRead, size);
      const s3Write = summarize((r) => r.s3Write, size);
      const limitMbPerS = Math.min(azureRead.mbPerS, s3Write.mbPerS);
      const ratioVsRclone = round(blobferry.mbPerS / rclone.mbPerS);
      const fractionOfLimit = round(blobferry.mbPerS / limitMbPerS);
      return {
        name: 'large-blob',
        description: `one ${formatBytes(size)} blob, part size ${formatBytes(partSize)}, ${concurrency} parts in flight`,
        blobferry: {
          ...blobferry,
          copyOnlyMbPerS: round(median(runs.map((r) => size / MiB / r.blobferryCopyS))),
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
          { target: 'CPU-seconds <= rclone\'s', met: blobferry.cpuS <= rclone.cpuS, actual: `${blobferry.cpuS} vs ${rclone.cpuS} s` },
          { target: '>= 0.9 of the limit', met: fractionOfLimit >= 0.9, actual: `${fractionOfLimit}` },
          {
            target: `peak RSS <= ${RSS_TARGET_MIB} MiB`,
            met: blobferry.peakRssMiB <= RSS_TARGET_MIB,
            actual: `${blobferry.peakRssMiB} MiB`,
          },
          {
            // 10% slack: a Node process's RSS moves by a few MiB from run to run on its own.
            target: `peak RSS not above the ${formatBytes(comparisonSize)} case (+10%)`,
            met: blobferry.peakRssMiB <= comparison.peakRssMiB * 1.1,
            actual: `${blobferry.peakRssMiB} vs ${comparison.peakRssMiB} MiB`,
          },
        ],
        notes: [
          'the blob carries a Content-MD5 (as azcopy --put-md5 writes it); withoutContentMd5 (first run only) is the same copy of a blob without one, as SDK block uploads leave it',
          'rates are bytes over the wall time of the tool\'s process (start-up included); copyOnlyMbPerS is copyBlobToS3\'s own duration',
          'memoryAtPeakRss (blobferry, and the comparison size): process.memoryUsage() at the highest of samples taken every 50 ms in the copy worker without forcing a GC, in the run with the largest peak: V8 heap (heapTotal, of which heapUsed live or not yet collected) and external memory (of which arrayBuffers: Buffers such as part buffers and socket chunks); the rest of the RSS is code, stacks and the allocator',
          'machineCpu (blobferry, rclone, and the S3 write limit): where the cores\' time went during that process\'s run, by process role, median of runs (see bench/README.md); moto answers every request under one Python interpreter lock, so moto near 1 CPU-second per second of wall time means moto bounds the window',
          'limit: Azurite ranged reads alone (curl) and S3 multipart writes alone (thin Node client, timed inside the worker), same part size and parts in flight',
        ],
      };
    } finally {
      await cloud.stop();
    }
  },
};
