import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { join } from 'node:path';
import { azureContainer, s3Client } from '../clients.js';
import { startCloudProcess } from '../local-cloud-process.js';
import { CLI_ROLE, MACHINE_CPU_NOTE, medianCpu, withMachineCpu, type MachineCpu } from '../machine-cpu.js';
import { runMeasured, type Measurement } from '../measure.js';
import { RCLONE_COMMON_FLAGS, rcloneEnv, retriedAttempts, writeRcloneConfig } from '../rclone.js';
import { profilingNodeArgs, rotate, runLimit, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { backupMetadata, putBackupObject, uploadSmallBlobs } from '../seed.js';
import { s3rverDirectWriter, type DirectObjectWriter } from '../s3rver-store.js';
import { median, round } from '../stats.js';
import { expectAllInSync, verifyArgs, verifyEnv } from '../verify-cli.js';

const HEAP_SAMPLER = new URL('../heap-sampler.js', import.meta.url).href;

// Listing + compare of two whole backups (every pair in sync): `blobferry verify` against `rclone check`, at two
// sizes to show whether memory stays flat as the object count grows tenfold. The limit is listing each side
// alone (by folder, in parallel).

const TARGET_PREFIX = 'vl/';
const SEED_CONCURRENCY = 32;

interface Dataset {
  container: string;
  count: number;
  folders: string[];
  targetRoot: string;
}

function folderName(index: number): string {
  return `d${String(index).padStart(3, '0')}/`;
}

async function seed(o: {
  stack: Stack;
  dataset: Dataset;
  perFolder: number;
  objectSize: number;
  direct: DirectObjectWriter | undefined;
}): Promise<void> {
  const { stack, dataset } = o;
  const container = azureContainer(stack, dataset.container);
  await container.createIfNotExists();
  const s3 = s3Client(stack);
  const names = Array.from({ length: dataset.count }, (_, i) => `${folderName(Math.floor(i / o.perFolder))}o${String(i).padStart(6, '0')}`);
  const keyOf = (blobName: string) =>
    `${TARGET_PREFIX}${backupKeyFor({ account: stack.azure.accountName, container: dataset.container, blobName })}`;
  await uploadSmallBlobs({
    container,
    names,
    size: o.objectSize,
    concurrency: SEED_CONCURRENCY,
    onUploaded: (blob, bytes) =>
      o.direct
        ? o.direct.put({ bucket: stack.aws.bucket, key: keyOf(blob.name), bytes, contentType: 'application/octet-stream', metadata: backupMetadata(blob) })
        : putBackupObject({ s3, bucket: stack.aws.bucket, key: keyOf(blob.name), blob, bytes }),
  });
}

interface SizeFigures {
  blobferry: Measurement & { machine: MachineCpu };
  /** Largest live heap (after a full GC) of an extra, untimed blobferry run; first run only. */
  liveHeapMiB?: number;
  rclone: Measurement & { machine: MachineCpu };
  azureList: Measurement;
  s3List: Measurement;
}

export const verifyList: Scenario = {
  name: 'verify-list',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const { count, comparisonCount, objectSize, perFolder } = context.profile.verifyList;
    const { filesInFlight } = context.profile.tuning;
    // s3rver's folder must be known to seed it directly (see s3rver-store.ts): persist to the bench's scratch folder.
    const persistDir = join(context.workDir, 'verify-list-cloud');
    const cloud = await startCloudProcess({ s3: context.s3, persistDir });
    const direct = context.s3 === 's3rver' ? s3rverDirectWriter(join(persistDir, 's3rver')) : undefined;
    try {
      const { stack } = cloud;
      const datasets: Dataset[] = [comparisonCount, count].map((n) => {
        const container = `verify-${n}`;
        return {
          container,
          count: n,
          folders: Array.from({ length: Math.ceil(n / perFolder) }, (_, i) => folderName(i)),
          targetRoot: `${TARGET_PREFIX}${stack.azure.accountName}/${container}`,
        };
      });
      for (const dataset of datasets) {
        const started = Date.now();
        context.log(`verify-list: seeding ${dataset.count} blobs and their in-sync S3 copies`);
        await seed({ stack, dataset, perFolder, objectSize, direct });
        context.log(`verify-list: seeded ${dataset.count} pairs in ${round((Date.now() - started) / 1000, 1)} s`);
      }
      const rcloneConf = await writeRcloneConfig(context.workDir, stack, context.profile.tuning);

      const measureSize = async (dataset: Dataset, run: number): Promise<SizeFigures> => {
        const figures: Partial<SizeFigures> = {};
        const steps: Record<Exclude<keyof SizeFigures, 'liveHeapMiB'>, () => Promise<void>> = {
          blobferry: async () => {
            figures.blobferry = await withMachineCpu(CLI_ROLE, () =>
              runMeasured(process.execPath, [...profilingNodeArgs(), ...verifyArgs({ stack, container: dataset.container, targetPrefix: TARGET_PREFIX })], {
                env: verifyEnv(stack),
              }),
            );
            expectAllInSync(figures.blobferry.stdout, dataset.count);
          },
          rclone: async () => {
            // Exit 0 only when every file matches in size and MD5: a wrong answer fails the bench.
            figures.rclone = await withMachineCpu('rclone', () =>
              runMeasured(
                'rclone',
                ['check', `azure:${dataset.container}`, `s3:${stack.aws.bucket}/${dataset.targetRoot}`, '--checkers', String(filesInFlight), ...RCLONE_COMMON_FLAGS],
                { env: rcloneEnv(rcloneConf) },
              ),
            );
          },
          azureList: async () => {
            const measurement = await runLimit({
              stack,
              op: 'azure-list',
              container: dataset.container,
              prefixes: dataset.folders,
              concurrency: filesInFlight,
            });
            if (measurement.objects !== dataset.count) throw new Error(`Azure listed ${measurement.objects} of ${dataset.count}`);
            figures.azureList = measurement;
          },
          s3List: async () => {
            const measurement = await runLimit({
              stack,
              op: 's3-list',
              prefixes: dataset.folders.map((folder) => `${dataset.targetRoot}/${folder}`),
              concurrency: filesInFlight,
            });
            if (measurement.objects !== dataset.count) throw new Error(`S3 listed ${measurement.objects} of ${dataset.count}`);
            figures.s3List = measurement;
          },
        };
        for (const step of rotate(Object.keys(steps) as Array<keyof typeof steps>, run)) {
          context.log(`verify-list ${dataset.count} run ${run + 1}/${context.runs}: ${step}`);
          await steps[step]();
        }
        if (run === 0) {
          context.log(`verify-list ${dataset.count}: blobferry live heap (untimed run)`);
          const sampled = await runMeasured(
            process.execPath,
            ['--expose-gc', '--import', HEAP_SAMPLER, ...verifyArgs({ stack, container: dataset.container, targetPrefix: TARGET_PREFIX })],
            { env: verifyEnv(stack) },
          );
          figures.liveHeapMiB = Number(/LIVE_HEAP_MAX_MIB ([\d.]+)/.exec(sampled.stderr)?.[1] ?? NaN);
        }
        return figures as SizeFigures;
      };

      const bySize = new Map<number, SizeFigures[]>();
      for (let run = 0; run < context.runs; run++) {
        for (const dataset of datasets) bySize.set(dataset.count, [...(bySize.get(dataset.count) ?? []), await measureSize(dataset, run)]);
      }
      const summarize = (n: number, pick: (f: SizeFigures) => Measurement) => {
        const runs = bySize.get(n) ?? [];
        return {
          objectsPerS: round(median(runs.map((f) => n / pick(f).wallS)), 0),
          wallS: round(median(runs.map((f) => pick(f).wallS))),
          cpuS: round(median(runs.map((f) => pick(f).cpuS))),
          peakRssMiB: round(Math.max(...runs.map((f) => pick(f).peakRssMiB)), 1),
        };
      };
      const machineCpuAt = (n: number, pick: (f: SizeFigures) => { machine: MachineCpu }) => ({ ...medianCpu((bySize.get(n) ?? []).map((f) => pick(f).machine)) });
      const blobferry = { ...summarize(count, (f) => f.blobferry), machineCpu: machineCpuAt(count, (f) => f.blobferry) };
      const blobferrySmall = summarize(comparisonCount, (f) => f.blobferry);
      const rclone = { ...summarize(count, (f) => f.rclone), machineCpu: machineCpuAt(count, (f) => f.rclone), ...retriedAttempts([...bySize.values()].flat().map((f) => f.rclone)) };
      const rcloneSmall = summarize(comparisonCount, (f) => f.rclone);
      const azureList = summarize(count, (f) => f.azureList);
      const s3List = summarize(count, (f) => f.s3List);
      const limit = Math.min(azureList.objectsPerS, s3List.objectsPerS);
      const ratioVsRclone = round(blobferry.objectsPerS / rclone.objectsPerS);
      const growth = round(blobferry.peakRssMiB / blobferrySmall.peakRssMiB);
      const liveHeap = (n: number) => round(bySize.get(n)?.[0]?.liveHeapMiB ?? NaN, 1);
      const heapGrowth = round(liveHeap(count) / liveHeap(comparisonCount));
      const small = `at${comparisonCount}`;
      return {
        name: 'verify-list',
        description: `${count} in-sync pairs (${perFolder} per folder, ${objectSize} B each), listed and compared; also ${comparisonCount} for memory; rclone check --checkers ${filesInFlight}`,
        blobferry: {
          ...blobferry,
          liveHeapMiB: liveHeap(count),
          [small]: { ...blobferrySmall, liveHeapMiB: liveHeap(comparisonCount) },
          rssGrowth: growth,
          liveHeapGrowth: heapGrowth,
        },
        rclone: { ...rclone, [small]: rcloneSmall },
        limit: {
          objectsPerS: limit,
          boundBy: azureList.objectsPerS <= s3List.objectsPerS ? 'azurite-list' : 's3-list',
          azuriteListObjectsPerS: azureList.objectsPerS,
          s3ListObjectsPerS: s3List.objectsPerS,
        },
        ratioVsRclone,
        fractionOfLimit: round(blobferry.objectsPerS / limit),
        targets: [
          { target: '>= 1.5x rclone check', met: ratioVsRclone >= 1.5, actual: `${ratioVsRclone}x` },
          {
            target: `memory flat from ${comparisonCount} to ${count} objects (live heap grows < 20%)`,
            met: heapGrowth < 1.2,
            actual: `live heap ${liveHeap(comparisonCount)} -> ${liveHeap(count)} MiB; peak RSS ${blobferrySmall.peakRssMiB} -> ${blobferry.peakRssMiB} MiB`,
          },
        ],
        notes: [
          MACHINE_CPU_NOTE,
          'memory: peak RSS includes garbage V8 has not collected yet; the live heap (largest heap in use right after a forced full GC, sampled every 250 ms in an extra untimed run) shows what the tool retains',
          `the limit lists each side alone, one stream per folder, ${filesInFlight} folders at once`,
          'seeding (not measured) writes the S3 side through s3rver\'s own store class when the endpoint is s3rver; the local cloud persists to a scratch folder here (Azurite on disk too)',
        ],
      };
    } finally {
      await cloud.stop();
    }
  },
};
