import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor, copyBlobToS3 } from '@blobferry/transfer';
import { alternatingRuns, type RunSteps } from '../alternating-runs.js';
import { azureContainer, blobferryS3Client } from '../clients.js';
import { curlReadAll, curlReadBlobs, s3Auth, s3Reads } from '../curl-reads.js';
import { withCloudProcess } from '../local-cloud-process.js';
import { MACHINE_CPU_NOTE, medianCpu, type MachineCpu } from '../machine-cpu.js';
import type { Measurement } from '../measure.js';
import { medianMbPerS, medianUsage } from '../median-figures.js';
import { mapConcurrently } from '../pool.js';
import { retriedAttempts, runRclone, writeRcloneConfig } from '../rclone.js';
import { FIGURES_NOTE, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { uploadLargeBlob } from '../seed.js';
import { formatBytes, round } from '../stats.js';
import { runVerify } from '../verify-cli.js';

// Both sides read back and compared: `blobferry verify --deep` (hashes both) against `rclone check --download`
// (compares the bytes). The S3 side was written by blobferry's own copy, so multipart objects carry ETags that
// are not MD5s: only reading proves them. The limit is reading the same bytes from each side alone (curl).

const CONTAINER = 'verify-deep';
const TARGET_PREFIX = 'vd/';

interface RunFigures {
  blobferry: Measurement & { machine: MachineCpu };
  rclone: Measurement & { machine: MachineCpu };
  azureRead: Measurement;
  s3Read: Measurement;
}

/** What every run of the scenario works on. */
interface VerifyDeepSetup {
  context: BenchContext;
  stack: Stack;
  names: string[];
  keys: string[];
  rcloneConf: string;
}

/** Seeds the blobs and their backups, written by blobferry's own copy (multipart ETags, a full-object CRC). */
async function prepare(context: BenchContext, stack: Stack): Promise<VerifyDeepSetup> {
  const { count, size } = context.profile.verifyDeep;
  const { partSize, concurrency } = context.profile.tuning;
  const container = azureContainer(stack, CONTAINER);
  await container.createIfNotExists();
  const names = Array.from({ length: count }, (_, i) => `deep/b${String(i).padStart(4, '0')}.bin`);
  const keys = names.map(
    (blobName) => `${TARGET_PREFIX}${backupKeyFor({ account: stack.azure.accountName, container: CONTAINER, blobName })}`,
  );
  context.log(`verify-deep: seeding ${count} x ${formatBytes(size)} and backing them up with copyBlobToS3`);
  const s3 = blobferryS3Client(stack);
  const pairs = names.map((name, i) => ({ name, key: keys[i] ?? '' }));
  await mapConcurrently(pairs, 2, async ({ name, key }) => {
    await uploadLargeBlob(container, name, size);
    await copyBlobToS3({
      source: { blob: container.getBlobClient(name) },
      target: { s3, bucket: stack.aws.bucket, key },
      partSize,
      concurrency,
    });
  });
  const rcloneConf = await writeRcloneConfig(context.workDir, stack, context.profile.tuning);
  return { context, stack, names, keys, rcloneConf };
}

function stepsOf(setup: VerifyDeepSetup): RunSteps<RunFigures> {
  const { context, stack, names, keys } = setup;
  const { count, size } = context.profile.verifyDeep;
  const { filesInFlight } = context.profile.tuning;
  const targetRoot = `${TARGET_PREFIX}${stack.azure.accountName}/${CONTAINER}`;
  return {
    blobferry: () => runVerify({ stack, container: CONTAINER, targetPrefix: TARGET_PREFIX, deep: true, objects: count }),
    rclone: () =>
      runRclone(setup.rcloneConf, [
        'check',
        '--download',
        `azure:${CONTAINER}`,
        `s3:${stack.aws.bucket}/${targetRoot}`,
        '--checkers',
        String(filesInFlight),
      ]),
    azureRead: () =>
      curlReadBlobs({
        stack,
        container: CONTAINER,
        blobs: names.map((name) => ({ name, size })),
        concurrency: filesInFlight,
        workDir: context.workDir,
      }),
    s3Read: () =>
      curlReadAll({
        reads: s3Reads(stack, keys),
        concurrency: filesInFlight,
        auth: s3Auth(stack),
        workDir: context.workDir,
        expectBytes: count * size,
      }),
  };
}

export const verifyDeep: Scenario = {
  name: 'verify-deep',
  run: (context) =>
    withCloudProcess({ s3: context.s3 }, async (stack) => {
      const setup = await prepare(context, stack);
      const runs = await alternatingRuns({ context, label: 'verify-deep', stepsOf: () => stepsOf(setup) });
      return summarize(context, runs);
    }),
};

function summarize(context: BenchContext, runs: RunFigures[]): ScenarioResult {
  const { count, size } = context.profile.verifyDeep;
  const { filesInFlight } = context.profile.tuning;
  const total = count * size;
  const figures = (measured: Measurement[]) => ({ mbPerS: medianMbPerS(measured, total), ...medianUsage(measured) });
  const blobferry = { ...figures(runs.map((r) => r.blobferry)), machineCpu: { ...medianCpu(runs.map((r) => r.blobferry.machine)) } };
  const rclone = {
    ...figures(runs.map((r) => r.rclone)),
    machineCpu: { ...medianCpu(runs.map((r) => r.rclone.machine)) },
    ...retriedAttempts(runs.map((r) => r.rclone)),
  };
  const azureRead = figures(runs.map((r) => r.azureRead));
  const s3Read = figures(runs.map((r) => r.s3Read));
  const limit = Math.min(azureRead.mbPerS, s3Read.mbPerS);
  // A deep verify must read both sides; on shared CPUs the two reads cannot both run at their solo speed.
  const bothSides = round(1 / (1 / azureRead.mbPerS + 1 / s3Read.mbPerS));
  return {
    name: 'verify-deep',
    description:
      `${count} objects of ${formatBytes(size)} (${formatBytes(total)}) verified by content; rate = source bytes verified per second. ` +
      `blobferry verify --deep compares each blob's CRC32 with the one S3 stored, reading no S3 bytes; ` +
      `rclone check --download --checkers ${filesInFlight} reads both sides`,
    blobferry,
    rclone,
    limit: {
      mbPerS: limit,
      boundBy: azureRead.mbPerS <= s3Read.mbPerS ? 'azurite-read' : 's3-read',
      azuriteReadMbPerS: azureRead.mbPerS,
      s3ReadMbPerS: s3Read.mbPerS,
      bothSidesSequentialMbPerS: bothSides,
    },
    ratioVsRclone: round(blobferry.mbPerS / rclone.mbPerS),
    fractionOfLimit: round(blobferry.mbPerS / limit),
    targets: [
      {
        target: '>= 1.0x rclone check --download',
        met: blobferry.mbPerS >= rclone.mbPerS,
        actual: `${round(blobferry.mbPerS / rclone.mbPerS)}x`,
      },
    ],
    notes: [
      MACHINE_CPU_NOTE,
      `bothSidesSequentialMbPerS: one side read after the other at solo speed (${bothSides} MiB/s), the bound when the CPUs are`,
      FIGURES_NOTE,
    ],
  };
}
