import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor, copyBlobToS3 } from '@blobferry/transfer';
import { alternatingRuns, type RunSteps } from '../alternating-runs.js';
import { azureContainer, blobferryS3Client, s3Client } from '../clients.js';
import { withCloudProcess } from '../local-cloud-process.js';
import { CLI_ROLE, MACHINE_CPU_NOTE, medianCpu, withMachineCpu, type MachineCpu } from '../machine-cpu.js';
import { runMeasured, type Measurement } from '../measure.js';
import { medianMbPerS, medianObjectsPerS, medianUsage } from '../median-figures.js';
import { retriedAttempts, runRclone, writeRcloneConfig } from '../rclone.js';
import { FIGURES_NOTE, profilingNodeArgs, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { putBackupObject, uploadLargeBlob, uploadSmallBlobs } from '../seed.js';
import { formatBytes, median, round } from '../stats.js';
import { VERIFY_BIN, verifyEnv } from '../verify-cli.js';

// S3 -> Azure: `blobferry restore` (small blobs streamed with their record, the large one in checked blocks)
// against `rclone copy` from the same bucket to Azurite, in the same run. Where the server-side path runs, the
// bytes are moved by the local cloud's blob front (Azure's work): its CPU is counted beside blobferry's.

const SOURCE = 'restore-src';
const TARGET_PREFIX = 'rs/';
const LOCAL_CLOUD_ROLE = 'local-cloud (Event Grid, identity, STS, S3 gateway)';

type Measured = Measurement & { machine: MachineCpu };

interface RunFigures {
  blobferrySmall: Measured;
  rcloneSmall: Measured;
  blobferryLarge: Measured;
  rcloneLarge: Measured;
}

interface RestoreSetup {
  context: BenchContext;
  stack: Stack;
  rcloneConf: string;
  root: string;
}

async function prepare(context: BenchContext, stack: Stack): Promise<RestoreSetup> {
  const { count, size } = context.profile.smallBlobs;
  const large = context.profile.largeBlob.size;
  const container = azureContainer(stack, SOURCE);
  await container.createIfNotExists();
  context.log(`restore: seeding ${count} x ${formatBytes(size)} and ${formatBytes(large)}, and their backups`);
  const s3 = s3Client(stack);
  const keyOf = (blobName: string) => `${TARGET_PREFIX}${backupKeyFor({ account: stack.azure.accountName, container: SOURCE, blobName })}`;
  await uploadSmallBlobs({
    container,
    names: Array.from({ length: count }, (_, index) => `small/s${String(index).padStart(5, '0')}.bin`),
    size,
    concurrency: 16,
    onUploaded: (blob, bytes) => putBackupObject({ s3, bucket: stack.aws.bucket, key: keyOf(blob.name), blob, bytes }),
  });
  await uploadLargeBlob(container, 'large/large.bin', large);
  await copyBlobToS3({
    source: { blob: container.getBlobClient('large/large.bin') },
    target: { s3: blobferryS3Client(stack), bucket: stack.aws.bucket, key: keyOf('large/large.bin') },
    partSize: context.profile.tuning.partSize,
    concurrency: context.profile.tuning.concurrency,
  });
  const rcloneConf = await writeRcloneConfig(context.workDir, stack, context.profile.tuning);
  return { context, stack, rcloneConf, root: `${TARGET_PREFIX}${stack.azure.accountName}/${SOURCE}` };
}

/** `blobferry restore` of a prefix into a fresh container, as a user runs it; throws unless every blob was restored and verified. */
async function runRestore(setup: RestoreSetup, prefix: string, to: string, objects: number): Promise<Measured> {
  const { stack } = setup;
  const args = [
    ...profilingNodeArgs(),
    VERIFY_BIN,
    'restore',
    '--container',
    SOURCE,
    '--bucket',
    stack.aws.bucket,
    '--target-prefix',
    TARGET_PREFIX,
    '--region',
    stack.aws.region,
    '--s3-endpoint',
    stack.aws.s3Endpoint,
    '--prefix',
    prefix,
    '--to',
    to,
    '--concurrency',
    String(setup.context.profile.tuning.filesInFlight),
    '--no-progress',
    '--json',
  ];
  const measured = await withMachineCpu(CLI_ROLE, () => runMeasured(process.execPath, args, { env: verifyEnv(stack) }));
  const summary = (JSON.parse(measured.stdout) as { summary: { restored: number; verified: number } }).summary;
  if (summary.restored !== objects || summary.verified !== objects) {
    throw new Error(
      `blobferry restore restored ${summary.restored} and verified ${summary.verified} of ${objects}: ${JSON.stringify(summary)}`,
    );
  }
  return measured;
}

function stepsOf(setup: RestoreSetup, run: number): RunSteps<RunFigures> {
  const { count } = setup.context.profile.smallBlobs;
  const { filesInFlight } = setup.context.profile.tuning;
  const rcloneCopy = (prefix: string, to: string) =>
    runRclone(setup.rcloneConf, [
      'copy',
      `s3:${setup.stack.aws.bucket}/${setup.root}/${prefix}`,
      `azure:${to}/${prefix}`,
      '--transfers',
      String(filesInFlight),
    ]);
  return {
    blobferrySmall: () => runRestore(setup, 'small/', `rs-bf-small-${run}`, count),
    rcloneSmall: () => rcloneCopy('small', `rs-rc-small-${run}`),
    blobferryLarge: () => runRestore(setup, 'large/', `rs-bf-large-${run}`, 1),
    rcloneLarge: () => rcloneCopy('large', `rs-rc-large-${run}`),
  };
}

export const restore: Scenario = {
  name: 'restore',
  run: (context) =>
    withCloudProcess({ s3: context.s3 }, async (stack) => {
      const setup = await prepare(context, stack);
      const runs = await alternatingRuns({ context, label: 'restore', stepsOf: (run) => stepsOf(setup, run) });
      return summarize(context, runs);
    }),
};

/** CPU-seconds of the tool's own process plus the local cloud's in its window: where Azure's side of the work runs locally. */
const withLocalCloud = (runs: Measured[]) => round(median(runs.map((run) => run.cpuS + (run.machine.cpuSByRole[LOCAL_CLOUD_ROLE] ?? 0))));

function summarize(context: BenchContext, runs: RunFigures[]): ScenarioResult {
  const { count, size } = context.profile.smallBlobs;
  const large = context.profile.largeBlob.size;
  const small = (measured: Measured[]) => ({
    objectsPerS: medianObjectsPerS(measured, count, 1),
    mbPerS: medianMbPerS(measured, count * size),
    ...medianUsage(measured),
    cpuSWithLocalCloud: withLocalCloud(measured),
    machineCpu: { ...medianCpu(measured.map((run) => run.machine)) },
  });
  const big = (measured: Measured[]) => ({
    mbPerS: medianMbPerS(measured, large),
    ...medianUsage(measured),
    cpuSWithLocalCloud: withLocalCloud(measured),
    machineCpu: { ...medianCpu(measured.map((run) => run.machine)) },
  });
  const blobferry = { small: small(runs.map((r) => r.blobferrySmall)), large: big(runs.map((r) => r.blobferryLarge)) };
  const rclone = {
    small: small(runs.map((r) => r.rcloneSmall)),
    large: big(runs.map((r) => r.rcloneLarge)),
    ...retriedAttempts(runs.flatMap((r) => [r.rcloneSmall, r.rcloneLarge])),
  };
  const smallRatio = round(blobferry.small.objectsPerS / rclone.small.objectsPerS);
  const largeRatio = round(blobferry.large.mbPerS / rclone.large.mbPerS);
  return {
    name: 'restore',
    description:
      `S3 -> Azure: ${count} x ${formatBytes(size)} (each one GET with its record and one Put Blob, checked against the recorded MD5) and one ${formatBytes(large)} blob ` +
      '(streamed in checked blocks); blobferry restore against rclone copy from the same bucket',
    blobferry,
    rclone,
    limit: {},
    ratioVsRclone: Math.min(smallRatio, largeRatio),
    fractionOfLimit: 0,
    targets: [
      { target: 'small blobs >= 1.0x rclone copy', met: smallRatio >= 1, actual: `${smallRatio}x` },
      { target: 'large blob >= 1.0x rclone copy', met: largeRatio >= 1, actual: `${largeRatio}x` },
      {
        target: 'large blob CPU-s (with the local cloud) <= rclone',
        met: blobferry.large.cpuSWithLocalCloud <= rclone.large.cpuSWithLocalCloud,
        actual: `${blobferry.large.cpuSWithLocalCloud} vs ${rclone.large.cpuSWithLocalCloud}`,
      },
    ],
    notes: [
      MACHINE_CPU_NOTE,
      'cpuSWithLocalCloud: the tool process plus the local cloud process (blob front, S3 gateway) in its window',
      FIGURES_NOTE,
    ],
  };
}
