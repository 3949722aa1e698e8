import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { SWEEP_QUEUE_NAME } from '@blobferry/contract';
import { backupFunctionSettings, type Stack } from '@blobferry/local-cloud';
import { copyBlobToS3, keyMappingFor, type KeyMapping } from '@blobferry/transfer';
import { join } from 'node:path';
import { alternatingRuns, type RunSteps } from '../alternating-runs.js';
import { azureContainer, blobferryS3Client, hostStorageContainer, s3Client } from '../clients.js';
import { estateBlobs, totalBytes, type EstateBlob } from '../estate.js';
import { countRequest, requestsPerBlob, stackEndpoints } from '../http-requests.js';
import { withCloudProcess } from '../local-cloud-process.js';
import { MACHINE_CPU_NOTE, SWEEP_ROLE, cpuBetween, emulatorCpuS, medianCpu, snapshotCpu, type MachineCpu } from '../machine-cpu.js';
import type { Measurement } from '../measure.js';
import { medianObjectsPerS, medianUsage } from '../median-figures.js';
import { PLANT_EVERY, noChanges, plantedChanges, type PlantedKind } from '../planted-changes.js';
import { mapConcurrently } from '../pool.js';
import { checkDifferences, rcloneRequests, retriedAttempts, runRclone, writeRcloneConfig } from '../rclone.js';
import { FIGURES_NOTE, runLimit, runWorker, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { uploadBlobsOfSizes } from '../seed.js';
import { MiB, median, round } from '../stats.js';
import type { SweepWorkerArgs, SweepWorkerResult } from '../workers/sweep-worker.js';

// The scheduled sweep (libs/sweep, as the Function app runs it) over the backfill scenario's 2,000-blob estate,
// in two states: every blob backed up (nothing to repair), and a planted share missing, stale or with changed
// metadata or tags (repairs enqueued). Against `rclone check` of the same containers, in the same run.
// bench/README.md, "sweep".

const IN_SYNC = 'sweep-in-sync';
const PLANTED = 'sweep-planted';
const KEY_PREFIX = 'sweep/';
const SEED_CONCURRENCY = 16;

type Measured = Measurement & { machine: MachineCpu };
type SweepRun = Measured & SweepWorkerResult;

interface RunFigures {
  blobferryInSync: SweepRun;
  blobferryPlanted: SweepRun;
  rcloneInSync: Measured;
  rclonePlanted: Measured;
  azureList: Measurement;
  s3List: Measurement;
}

interface SweepSetup {
  context: BenchContext;
  stack: Stack;
  rcloneConf: string;
  blobs: EstateBlob[];
  stateContainer: string;
  planted: Record<PlantedKind, EstateBlob[]>;
  /** The first sweep of the in-sync container, before any record of an earlier run: measured once. */
  firstSweep: SweepRun;
  /** rclone check's requests in each state, counted once from its `--dump headers` log (not a measured run). */
  rcloneRequests: { inSync: Record<string, number>; planted: Record<string, number> };
}

const keysOf = (stack: Stack, container: string): KeyMapping =>
  keyMappingFor({ account: stack.azure.accountName, container, prefix: KEY_PREFIX });

/** Uploads the estate into `name` and backs every blob up with libs/transfer's copy, as the fleet would have. */
async function seedBackedUp(context: BenchContext, stack: Stack, name: string, blobs: EstateBlob[]): Promise<ContainerClient> {
  const container = azureContainer(stack, name);
  await container.createIfNotExists();
  await uploadBlobsOfSizes({ container, blobs, concurrency: SEED_CONCURRENCY });
  const keys = keysOf(stack, name);
  const s3 = blobferryS3Client(stack);
  const { partSize, concurrency } = context.profile.tuning;
  await mapConcurrently(blobs, SEED_CONCURRENCY, async (blob) => {
    const result = await copyBlobToS3({
      source: { blob: container.getBlobClient(blob.name) },
      target: { s3, bucket: stack.aws.bucket, key: keys.keyOf(blob.name), features: stack.aws.s3Features },
      partSize,
      concurrency,
    });
    if (result.outcome !== 'copied') throw new Error(`seeding ${name}: ${blob.name} was ${result.outcome}`);
  });
  s3.destroy();
  return container;
}

/** The changes the sweep must find: backups deleted, blobs rewritten with other bytes, metadata set, tags set. */
async function plant(stack: Stack, container: ContainerClient, planted: Record<PlantedKind, EstateBlob[]>): Promise<void> {
  const s3 = s3Client(stack);
  const keys = keysOf(stack, container.containerName);
  for (const blob of planted.missing) await s3.send(new DeleteObjectCommand({ Bucket: stack.aws.bucket, Key: keys.keyOf(blob.name) }));
  s3.destroy();
  // Same sizes, fresh random bytes: only the MD5 and the time tell them apart.
  await uploadBlobsOfSizes({ container, blobs: planted.stale, concurrency: SEED_CONCURRENCY });
  for (const blob of planted.metadata) await container.getBlobClient(blob.name).setMetadata({ planted: 'metadata' });
  for (const blob of planted.tags) await container.getBlobClient(blob.name).setTags({ planted: 'tags' });
}

function rcloneCheckArgs(setup: Pick<SweepSetup, 'stack' | 'context'>, container: string): string[] {
  const { stack, context } = setup;
  return [
    'check',
    `azure:${container}`,
    `s3:${stack.aws.bucket}/${keysOf(stack, container).root.replace(/\/$/, '')}`,
    '--checkers',
    String(context.profile.tuning.filesInFlight),
  ];
}

/** rclone check exits 1 when it finds differences: expected in the planted container. */
const PLANTED_EXIT_CODES = [0, 1];

/** The Azure queue client of `name` on the stack's account. */
function queueOf(stack: Stack, name: string): QueueClient {
  return QueueServiceClient.fromConnectionString(stack.azure.connectionString).getQueueClient(name);
}

async function prepare(context: BenchContext, stack: Stack): Promise<SweepSetup> {
  const { count, largeCount } = context.profile.backfill;
  if (stack.events.delivery !== 'off')
    throw new Error(`the local cloud delivers events (${stack.events.delivery}); the sweep needs them off`);
  const blobs = estateBlobs(count, largeCount);
  const stateContainer = new URL(backupFunctionSettings(stack).STATE_CONTAINER_URL ?? '').pathname.split('/').at(-1) ?? '';
  await hostStorageContainer(stack, stateContainer).createIfNotExists();
  await queueOf(stack, SWEEP_QUEUE_NAME).createIfNotExists();
  const seedStarted = Date.now();
  await seedBackedUp(context, stack, IN_SYNC, blobs);
  const plantedContainer = await seedBackedUp(context, stack, PLANTED, blobs);
  // The schedule's earlier run: each container swept once in sync, which leaves the sweep its record of the
  // pairs in sync; the measured runs are the runs after it. The in-sync container's is the first sweep's figure.
  const firstSweeps = { stack, blobs, stateContainer };
  const firstSweep = await sweepRun(firstSweeps, IN_SYNC);
  expectFound(firstSweeps, noChanges(), IN_SYNC, firstSweep);
  expectFound(firstSweeps, noChanges(), PLANTED, await sweepRun(firstSweeps, PLANTED));
  const planted = plantedChanges(blobs);
  await plant(stack, plantedContainer, planted);
  context.log(
    `sweep: seeded and backed up ${count} blobs (${round(totalBytes(blobs) / MiB, 1)} MiB) twice, planted ` +
      `${Object.values(planted).flat().length} changes in ${round((Date.now() - seedStarted) / 1000, 1)} s`,
  );
  const rcloneConf = await writeRcloneConfig(context.workDir, stack, context.profile.tuning);
  const setup = { context, stack, rcloneConf, blobs, stateContainer, planted, firstSweep };
  return { ...setup, rcloneRequests: await countRcloneRequests(setup) };
}

/** rclone check of each container once more, with its requests logged: counted by the classifier the sweep's are. */
async function countRcloneRequests(setup: Omit<SweepSetup, 'rcloneRequests'>): Promise<SweepSetup['rcloneRequests']> {
  const endpoints = stackEndpoints(setup.stack, hostStorageContainer(setup.stack, setup.stateContainer).url);
  const counted = async (container: string, okExitCodes: number[]) => {
    const counts: Record<string, number> = {};
    const logFile = join(setup.context.workDir, `rclone-${container}.log`);
    for (const request of await rcloneRequests(setup.rcloneConf, rcloneCheckArgs(setup, container), { okExitCodes, logFile }))
      countRequest(counts, request, endpoints);
    return counts;
  };
  return { inSync: await counted(IN_SYNC, [0]), planted: await counted(PLANTED, PLANTED_EXIT_CODES) };
}

/** One sweep of `container` in the sweep worker, its own process under GNU time, and where the machine's CPU went. */
async function sweepRun(setup: Pick<SweepSetup, 'stack' | 'stateContainer'>, container: string): Promise<SweepRun> {
  const { stack } = setup;
  const backupQueue = queueOf(stack, stack.events.queueName);
  for (const queue of [backupQueue, queueOf(stack, SWEEP_QUEUE_NAME)]) {
    const waiting = (await queue.getProperties()).approximateMessagesCount ?? 0;
    if (waiting !== 0) throw new Error(`${queue.name} holds ${waiting} messages before the sweep`);
  }
  const args: SweepWorkerArgs = { stack, container, keyPrefix: KEY_PREFIX, stateContainer: setup.stateContainer };
  const from = await snapshotCpu();
  const { measurement, result } = await runWorker<SweepWorkerResult>('sweep-worker', args);
  const machine = cpuBetween(from, await snapshotCpu(), { [SWEEP_ROLE]: measurement.cpuS });
  // Not measured: the fleet would copy these; the next run must start from an empty queue.
  await backupQueue.clearMessages();
  return { ...measurement, machine, ...result };
}

/** Throws unless the sweep found exactly what the container holds: everything in sync, or exactly the planted changes. */
function expectFound(setup: Pick<SweepSetup, 'blobs'>, planted: Record<PlantedKind, EstateBlob[]>, container: string, run: SweepRun): void {
  const { report } = run;
  const blobs = setup.blobs.length;
  const changed = Object.values(planted).flat().length;
  const counts = report.counts;
  const expected = {
    blobs,
    inSync: blobs - changed,
    missing: planted.missing.length,
    propertiesDiffer: planted.metadata.length + planted.tags.length,
    enqueued: changed,
  };
  const actual = {
    blobs: report.blobs,
    inSync: counts.inSync ?? 0,
    missing: counts.missing ?? 0,
    propertiesDiffer: counts.propertiesDiffer ?? 0,
    enqueued: report.enqueued,
  };
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `the sweep of ${container} found ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}: ${JSON.stringify(report)}`,
    );
  }
}

function stepsOf(setup: SweepSetup): RunSteps<RunFigures> {
  const { stack, context, blobs } = setup;
  const { filesInFlight } = context.profile.tuning;
  const folders = [...new Set(blobs.map((blob) => blob.name.slice(0, blob.name.lastIndexOf('/') + 1)))];
  const listed = async (side: string, listing: Promise<Measurement & { objects: number }>) => {
    const measurement = await listing;
    if (measurement.objects !== blobs.length) throw new Error(`${side} listed ${measurement.objects} of ${blobs.length}`);
    return measurement;
  };
  const swept = async (container: string) => {
    const measured = await sweepRun(setup, container);
    expectFound(setup, container === PLANTED ? setup.planted : noChanges(), container, measured);
    return measured;
  };
  const root = keysOf(stack, IN_SYNC).root;
  return {
    blobferryInSync: () => swept(IN_SYNC),
    blobferryPlanted: () => swept(PLANTED),
    // Exit 0 only when every pair matches in size and MD5.
    rcloneInSync: () => runRclone(setup.rcloneConf, rcloneCheckArgs(setup, IN_SYNC)),
    rclonePlanted: () => runRclone(setup.rcloneConf, rcloneCheckArgs(setup, PLANTED), { okExitCodes: PLANTED_EXIT_CODES }),
    azureList: () =>
      listed('Azure', runLimit({ stack, op: 'azure-list', container: IN_SYNC, prefixes: folders, concurrency: filesInFlight })),
    s3List: () =>
      listed('S3', runLimit({ stack, op: 's3-list', prefixes: folders.map((folder) => `${root}${folder}`), concurrency: filesInFlight })),
  };
}

export const sweep: Scenario = {
  name: 'sweep',
  // No events: the sweep is what finds changes the events missed.
  run: (context) =>
    withCloudProcess({ s3: context.s3 }, async (stack) => {
      const setup = await prepare(context, stack);
      const runs = await alternatingRuns({ context, label: 'sweep', stepsOf: () => stepsOf(setup) });
      return summarize(setup, runs);
    }),
};

/** The median of each request kind over the runs (retries make a count vary). */
function medianCounts(runs: readonly Record<string, number>[]): Record<string, number> {
  const kinds = [...new Set(runs.flatMap((counts) => Object.keys(counts)))].sort();
  return Object.fromEntries(kinds.map((kind) => [kind, median(runs.map((counts) => counts[kind] ?? 0))]));
}

function summarize(setup: SweepSetup, runs: RunFigures[]): ScenarioResult {
  const { context, blobs } = setup;
  const count = blobs.length;
  const bytes = totalBytes(blobs);
  const changed = Object.values(setup.planted).flat().length;
  const sweepFigures = (measured: SweepRun[]) => {
    const requests = medianCounts(measured.map((run) => run.requests));
    const machine = medianCpu(measured.map((run) => run.machine));
    return {
      objectsPerS: medianObjectsPerS(measured, count, 1),
      ...medianUsage(measured),
      sweepS: round(median(measured.map((run) => run.sweepMs / 1000))),
      sweepCpuS: round(median(measured.map((run) => run.sweepCpuS))),
      cpuMsPerBlob: round((median(measured.map((run) => run.sweepCpuS)) * 1000) / count, 3),
      emulatorCpuS: round(median(measured.map((run) => emulatorCpuS(run.machine)))),
      requestsPerBlob: requestsPerBlob(requests, count),
      requests,
      report: {
        ...measured[0]?.report.counts,
        enqueued: measured[0]?.report.enqueued ?? 0,
        missedEvents: measured[0]?.report.missedEvents ?? 0,
        headsSkippedByRecord: measured[0]?.report.headsSkippedByRecord ?? 0,
      },
      machineCpu: { ...machine },
    };
  };
  const rcloneFigures = (measured: Measured[], requests: Record<string, number>) => ({
    objectsPerS: medianObjectsPerS(measured, count, 1),
    ...medianUsage(measured),
    emulatorCpuS: round(median(measured.map((run) => emulatorCpuS(run.machine)))),
    requestsPerBlob: requestsPerBlob(requests, count),
    requests,
    // What rclone check reports: by size and MD5 only, so metadata and tag changes are not among them.
    differencesFound: Math.max(...measured.map((run) => checkDifferences(run.stderr))),
    machineCpu: { ...medianCpu(measured.map((run) => run.machine)) },
  });
  const inSync = sweepFigures(runs.map((r) => r.blobferryInSync));
  const firstSweep = sweepFigures([setup.firstSweep]);
  const planted = sweepFigures(runs.map((r) => r.blobferryPlanted));
  const rcloneInSync = rcloneFigures(
    runs.map((r) => r.rcloneInSync),
    setup.rcloneRequests.inSync,
  );
  const rclonePlanted = rcloneFigures(
    runs.map((r) => r.rclonePlanted),
    setup.rcloneRequests.planted,
  );
  const azureList = median(runs.map((r) => count / r.azureList.wallS));
  const s3List = median(runs.map((r) => count / r.s3List.wallS));
  const limit = Math.min(azureList, s3List);
  const vs = (blobferry: { objectsPerS: number; cpuS: number; peakRssMiB: number }, rclone: typeof blobferry) => ({
    ratioVsRclone: round(blobferry.objectsPerS / rclone.objectsPerS),
    cpuVsRclone: round(blobferry.cpuS / rclone.cpuS),
    peakRssVsRclone: round(blobferry.peakRssMiB / rclone.peakRssMiB),
  });
  return {
    name: 'sweep',
    description:
      `the scheduled sweep (libs/sweep: planSweep, then sweepSlice per slice message, as one Function instance runs them) ` +
      `over the backfill estate (${count} blobs, ${round(bytes / MiB, 1)} MiB), every blob backed up by libs/transfer; ` +
      `in sync, and with ${changed} planted changes (1 in ${PLANT_EVERY} each: backup deleted, blob rewritten, metadata set, tags set); ` +
      `rclone check --checkers ${context.profile.tuning.filesInFlight} of the same containers`,
    blobferry: {
      ...inSync,
      ...vs(inSync, rcloneInSync),
      planted: { ...planted, ...vs(planted, rclonePlanted) },
      firstSweep: { ...firstSweep, ...vs(firstSweep, rcloneInSync) },
    },
    rclone: {
      ...rcloneInSync,
      planted: rclonePlanted,
      ...retriedAttempts(runs.flatMap((r) => [r.rcloneInSync, r.rclonePlanted])),
    },
    limit: {
      objectsPerS: round(limit, 1),
      boundBy: azureList <= s3List ? 'azure-list' : 's3-list',
      azureListObjectsPerS: round(azureList, 1),
      s3ListObjectsPerS: round(s3List, 1),
    },
    ratioVsRclone: round(inSync.objectsPerS / rcloneInSync.objectsPerS),
    fractionOfLimit: round(inSync.objectsPerS / limit),
    targets: [],
    notes: [
      'rate: blobs over the wall time of the process (start-up included); sweepS, sweepCpuS: from the plan to the report',
      "requests: counted at the HTTP level (blobferry: node:http's diagnostics channel in the worker; rclone: its --dump headers log, one extra run)",
      "planted: the same figures in the planted container; its ratios are against rclone's planted figures",
      'each measured sweep follows an earlier one (its record of the pairs in sync); firstSweep: the in-sync container swept once before that, with no record (one run)',
      "emulatorCpuS: the local cloud processes (Azurite, the S3 endpoint, the local cloud) in the tool's window",
      MACHINE_CPU_NOTE,
      'limit: listing each side of the in-sync pair alone (thin client, one stream per folder)',
      FIGURES_NOTE,
    ],
  };
}
