import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { join } from 'node:path';
import { measureRun, type RunSteps } from '../alternating-runs.js';
import { azureContainer, s3Client } from '../clients.js';
import { withCloudProcess } from '../local-cloud-process.js';
import { MACHINE_CPU_NOTE, medianCpu, type MachineCpu } from '../machine-cpu.js';
import { runMeasured, type Measurement } from '../measure.js';
import { medianObjectsPerS, medianUsage } from '../median-figures.js';
import { retriedAttempts, runRclone, writeRcloneConfig } from '../rclone.js';
import { FIGURES_NOTE, runLimit, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { backupMetadata, putBackupObject, uploadSmallBlobs } from '../seed.js';
import { s3rverDirectWriter, type DirectObjectWriter } from '../s3rver-store.js';
import { round } from '../stats.js';
import { runVerify, verifyArgs, verifyEnv } from '../verify-cli.js';

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

interface SeedOptions {
  stack: Stack;
  dataset: Dataset;
  perFolder: number;
  objectSize: number;
  direct: DirectObjectWriter | undefined;
}

async function seed(o: SeedOptions): Promise<void> {
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
        ? o.direct.put({
            bucket: stack.aws.bucket,
            key: keyOf(blob.name),
            bytes,
            contentType: 'application/octet-stream',
            metadata: backupMetadata(blob),
          })
        : putBackupObject({ s3, bucket: stack.aws.bucket, key: keyOf(blob.name), blob, bytes }),
  });
}

/** The timed steps of one run at one size. */
interface TimedFigures {
  blobferry: Measurement & { machine: MachineCpu };
  rclone: Measurement & { machine: MachineCpu };
  azureList: Measurement;
  s3List: Measurement;
}

type SizeFigures = TimedFigures & {
  /** Largest live heap (after a full GC) of an extra, untimed blobferry run; first run only. */
  liveHeapMiB?: number;
};

/** What every run of the scenario works on. */
interface VerifyListSetup {
  context: BenchContext;
  stack: Stack;
  /** The comparison size first, then the full one. */
  datasets: Dataset[];
  rcloneConf: string;
}

async function prepare(context: BenchContext, stack: Stack, direct: DirectObjectWriter | undefined): Promise<VerifyListSetup> {
  const { count, comparisonCount, objectSize, perFolder } = context.profile.verifyList;
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
  return { context, stack, datasets, rcloneConf };
}

function stepsOf(setup: VerifyListSetup, dataset: Dataset): RunSteps<TimedFigures> {
  const { stack } = setup;
  const { filesInFlight } = setup.context.profile.tuning;
  /** Lists one side alone, one stream per folder, and checks it saw every object. */
  const listed = async (side: string, listing: Promise<Measurement & { objects: number }>) => {
    const measurement = await listing;
    if (measurement.objects !== dataset.count) throw new Error(`${side} listed ${measurement.objects} of ${dataset.count}`);
    return measurement;
  };
  return {
    blobferry: () => runVerify({ stack, container: dataset.container, targetPrefix: TARGET_PREFIX, objects: dataset.count }),
    // Exit 0 only when every file matches in size and MD5: a wrong answer fails the bench.
    rclone: () =>
      runRclone(setup.rcloneConf, [
        'check',
        `azure:${dataset.container}`,
        `s3:${stack.aws.bucket}/${dataset.targetRoot}`,
        '--checkers',
        String(filesInFlight),
      ]),
    azureList: () =>
      listed(
        'Azure',
        runLimit({ stack, op: 'azure-list', container: dataset.container, prefixes: dataset.folders, concurrency: filesInFlight }),
      ),
    s3List: () =>
      listed(
        'S3',
        runLimit({
          stack,
          op: 's3-list',
          prefixes: dataset.folders.map((folder) => `${dataset.targetRoot}/${folder}`),
          concurrency: filesInFlight,
        }),
      ),
  };
}

/** The largest live heap of a blobferry verify, in an extra run that forces full GCs (so not timed). */
async function sampleLiveHeapMiB(setup: VerifyListSetup, dataset: Dataset): Promise<number> {
  const { stack } = setup;
  setup.context.log(`verify-list ${dataset.count}: blobferry live heap (untimed run)`);
  const sampled = await runMeasured(
    process.execPath,
    ['--expose-gc', '--import', HEAP_SAMPLER, ...verifyArgs({ stack, container: dataset.container, targetPrefix: TARGET_PREFIX })],
    { env: verifyEnv(stack) },
  );
  return Number(/LIVE_HEAP_MAX_MIB ([\d.]+)/.exec(sampled.stderr)?.[1] ?? NaN);
}

async function measureSize(setup: VerifyListSetup, dataset: Dataset, run: number): Promise<SizeFigures> {
  const label = `verify-list ${dataset.count}`;
  const timed = await measureRun({ context: setup.context, label, run, steps: stepsOf(setup, dataset) });
  return run === 0 ? { ...timed, liveHeapMiB: await sampleLiveHeapMiB(setup, dataset) } : timed;
}

export const verifyList: Scenario = {
  name: 'verify-list',
  async run(context: BenchContext): Promise<ScenarioResult> {
    // s3rver's folder must be known to seed it directly (see s3rver-store.ts): persist to the bench's scratch folder.
    const persistDir = join(context.workDir, 'verify-list-cloud');
    const direct = context.s3 === 's3rver' ? s3rverDirectWriter(join(persistDir, 's3rver')) : undefined;
    return withCloudProcess({ s3: context.s3, persistDir }, async (stack) => {
      const setup = await prepare(context, stack, direct);
      // Both sizes in every run, so neither always meets a fresher endpoint.
      const bySize = new Map<number, SizeFigures[]>();
      for (let run = 0; run < context.runs; run++) {
        for (const dataset of setup.datasets) {
          bySize.set(dataset.count, [...(bySize.get(dataset.count) ?? []), await measureSize(setup, dataset, run)]);
        }
      }
      return summarize(context, bySize);
    });
  },
};

function summarize(context: BenchContext, bySize: Map<number, SizeFigures[]>): ScenarioResult {
  const { count, comparisonCount, objectSize, perFolder } = context.profile.verifyList;
  const { filesInFlight } = context.profile.tuning;
  const figures = (n: number, pick: (f: SizeFigures) => Measurement) => {
    const measured = (bySize.get(n) ?? []).map(pick);
    return { objectsPerS: medianObjectsPerS(measured, n, 0), ...medianUsage(measured) };
  };
  const machineCpuAt = (n: number, pick: (f: SizeFigures) => { machine: MachineCpu }) => ({
    ...medianCpu((bySize.get(n) ?? []).map((f) => pick(f).machine)),
  });
  const blobferry = { ...figures(count, (f) => f.blobferry), machineCpu: machineCpuAt(count, (f) => f.blobferry) };
  const blobferrySmall = figures(comparisonCount, (f) => f.blobferry);
  const rclone = {
    ...figures(count, (f) => f.rclone),
    machineCpu: machineCpuAt(count, (f) => f.rclone),
    ...retriedAttempts([...bySize.values()].flat().map((f) => f.rclone)),
  };
  const rcloneSmall = figures(comparisonCount, (f) => f.rclone);
  const azureList = figures(count, (f) => f.azureList);
  const s3List = figures(count, (f) => f.s3List);
  const limit = Math.min(azureList.objectsPerS, s3List.objectsPerS);
  const ratioVsRclone = round(blobferry.objectsPerS / rclone.objectsPerS);
  const growth = round(blobferry.peakRssMiB / blobferrySmall.peakRssMiB);
  const liveHeap = (n: number) => round(bySize.get(n)?.[0]?.liveHeapMiB ?? NaN, 1);
  const heapGrowth = round(liveHeap(count) / liveHeap(comparisonCount));
  const small = `at${comparisonCount}`;
  return {
    name: 'verify-list',
    description:
      `${count} in-sync pairs (${perFolder} per folder, ${objectSize} B each), listed and compared; ` +
      `also ${comparisonCount} for memory; rclone check --checkers ${filesInFlight}`,
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
      'memory: the live heap (after forced full GCs, in an extra untimed run) is what the tool retains; peak RSS holds garbage too',
      `the limit lists each side alone, one stream per folder, ${filesInFlight} folders at once`,
      FIGURES_NOTE,
    ],
  };
}
