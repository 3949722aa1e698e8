import { backupKeyFor, copyBlobToS3 } from '@blobferry/transfer';
import { azureContainer, blobferryS3Client } from '../clients.js';
import { startCloudProcess } from '../local-cloud-process.js';
import { CLI_ROLE, MACHINE_CPU_NOTE, medianCpu, withMachineCpu, type MachineCpu } from '../machine-cpu.js';
import { curlReadAll, curlReadBlobs, s3Auth, s3Reads } from '../curl-reads.js';
import { runMeasured, type Measurement } from '../measure.js';
import { mapConcurrently } from '../pool.js';
import { RCLONE_COMMON_FLAGS, rcloneEnv, retriedAttempts, writeRcloneConfig } from '../rclone.js';
import { profilingNodeArgs, rotate, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { uploadLargeBlob } from '../seed.js';
import { MiB, formatBytes, median, round } from '../stats.js';
import { expectAllInSync, verifyArgs, verifyEnv } from '../verify-cli.js';

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

export const verifyDeep: Scenario = {
  name: 'verify-deep',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const { count, size } = context.profile.verifyDeep;
    const { filesInFlight, partSize, concurrency } = context.profile.tuning;
    const total = count * size;
    const cloud = await startCloudProcess({ s3: context.s3 });
    try {
      const { stack } = cloud;
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
      const targetRoot = `${TARGET_PREFIX}${stack.azure.accountName}/${CONTAINER}`;

      const runs: RunFigures[] = [];
      for (let run = 0; run < context.runs; run++) {
        const figures: Partial<RunFigures> = {};
        const steps: Record<keyof RunFigures, () => Promise<void>> = {
          blobferry: async () => {
            figures.blobferry = await withMachineCpu(CLI_ROLE, () =>
              runMeasured(process.execPath, [...profilingNodeArgs(), ...verifyArgs({ stack, container: CONTAINER, targetPrefix: TARGET_PREFIX, deep: true })], {
                env: verifyEnv(stack),
              }),
            );
            expectAllInSync(figures.blobferry.stdout, count);
          },
          rclone: async () => {
            figures.rclone = await withMachineCpu('rclone', () =>
              runMeasured(
                'rclone',
                ['check', '--download', `azure:${CONTAINER}`, `s3:${stack.aws.bucket}/${targetRoot}`, '--checkers', String(filesInFlight), ...RCLONE_COMMON_FLAGS],
                { env: rcloneEnv(rcloneConf) },
              ),
            );
          },
          azureRead: async () => {
            figures.azureRead = await curlReadBlobs({
              stack,
              container: CONTAINER,
              blobs: names.map((name) => ({ name, size })),
              concurrency: filesInFlight,
              workDir: context.workDir,
            });
          },
          s3Read: async () => {
            figures.s3Read = await curlReadAll({
              reads: s3Reads(stack, keys),
              concurrency: filesInFlight,
              auth: s3Auth(stack),
              workDir: context.workDir,
              expectBytes: total,
            });
          },
        };
        for (const step of rotate(Object.keys(steps) as Array<keyof RunFigures>, run)) {
          context.log(`verify-deep run ${run + 1}/${context.runs}: ${step}`);
          await steps[step]();
        }
        runs.push(figures as RunFigures);
      }

      const summarize = (pick: (r: RunFigures) => Measurement) => ({
        mbPerS: round(median(runs.map((r) => total / MiB / pick(r).wallS))),
        wallS: round(median(runs.map((r) => pick(r).wallS))),
        cpuS: round(median(runs.map((r) => pick(r).cpuS))),
        peakRssMiB: round(Math.max(...runs.map((r) => pick(r).peakRssMiB)), 1),
      });
      const blobferry = { ...summarize((r) => r.blobferry), machineCpu: { ...medianCpu(runs.map((r) => r.blobferry.machine)) } };
      const rclone = { ...summarize((r) => r.rclone), machineCpu: { ...medianCpu(runs.map((r) => r.rclone.machine)) }, ...retriedAttempts(runs.map((r) => r.rclone)) };
      const azureRead = summarize((r) => r.azureRead);
      const s3Read = summarize((r) => r.s3Read);
      const limit = Math.min(azureRead.mbPerS, s3Read.mbPerS);
      // A deep verify must read both sides; on shared CPUs the two reads cannot both run at their solo speed.
      const bothSides = round(1 / (1 / azureRead.mbPerS + 1 / s3Read.mbPerS));
      return {
        name: 'verify-deep',
        description: `${count} objects of ${formatBytes(size)} (${formatBytes(total)}) verified by content; rate = source bytes verified per second. blobferry verify --deep reads each blob and compares its CRC32 with the full-object checksum S3 stored at upload (the seed's copies carry one), reading no S3 bytes; rclone check --download --checkers ${filesInFlight} reads both sides`,
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
        targets: [{ target: '>= 1.0x rclone check --download', met: blobferry.mbPerS >= rclone.mbPerS, actual: `${round(blobferry.mbPerS / rclone.mbPerS)}x` }],
        notes: [
          MACHINE_CPU_NOTE,
          `bothSidesSequentialMbPerS: reading one side after the other at solo speed (${bothSides} MiB/s), the bound when the CPUs, not the endpoints, are the bottleneck`,
        ],
      };
    } finally {
      await cloud.stop();
    }
  },
};
