import { join } from 'node:path';
import { DEFAULT_NAMES_PER_PASS } from '@blobferry/inventory';
import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor } from '@blobferry/transfer';
import { azureContainer, s3Client } from '../clients.js';
import { ESTATE_CONTAINER, PLANTED_PER_10K, publishInventoryEstate, type PublishedEstate } from '../inventory-estate.js';
import { withCloudProcess } from '../local-cloud-process.js';
import type { Measurement } from '../measure.js';
import { medianUsage } from '../median-figures.js';
import { FIGURES_NOTE, runWorker, type BenchContext, type Scenario, type ScenarioResult, type ToolFigures } from '../scenario.js';
import { putBackupObject, uploadSmallBlobs } from '../seed.js';
import { median, MiB, round } from '../stats.js';
import { runVerify } from '../verify-cli.js';

// Reconciling at scale from inventory reports (issue 32): two reports of 10^7 names each, in the services' formats
// with a difference of every kind planted (inventory-estate.ts), in the local clouds; blobferry's inventory path
// from the reports to a complete difference list (download, DuckDB join, list), in its own process under GNU time.
// Listing-based `blobferry verify` runs in the same cloud for comparison, and both are projected to 10^8.

const LISTED_CONTAINER = 'listed';
const TARGET_MINUTES_1E8 = 15;
const TARGET_PEAK_RSS_MIB = 1024;

interface JoinResult {
  durationMs: number;
  downloadMs: number;
  joinMs: number;
  listMs: number;
  inSync: number;
  candidates: number;
  /** Join passes (libs/inventory joins at most DEFAULT_NAMES_PER_PASS names a side in one). */
  passes: number;
  decided: Record<string, number>;
  needsHead: number;
  readLive: number;
}

type JoinRun = Measurement & { result: JoinResult };

/** The worker's answer must be the planted one exactly: a fast wrong answer is not a result. */
function checkPlanted(rows: number, result: JoinResult): void {
  const blocks = rows / 10_000;
  const expected = {
    decided: Object.fromEntries(Object.entries(PLANTED_PER_10K.decided).map(([kind, count]) => [kind, count * blocks])),
    needsHead: PLANTED_PER_10K.needsHead * blocks,
    readLive: PLANTED_PER_10K.readLive * blocks,
  };
  const found = { decided: result.decided, needsHead: result.needsHead, readLive: result.readLive };
  if (JSON.stringify(found, Object.keys(found).sort()) !== JSON.stringify(expected, Object.keys(expected).sort())) {
    throw new Error(`reconcile-10m at ${rows}: found ${JSON.stringify(found)}, planted ${JSON.stringify(expected)}`);
  }
  const inSync = rows - blocks * 9;
  if (result.inSync !== inSync) throw new Error(`reconcile-10m at ${rows}: ${result.inSync} in sync by the reports, planted ${inSync}`);
}

async function seedListed(context: BenchContext, stack: Stack): Promise<void> {
  const pairs = context.profile.reconcile.listingPairs;
  const container = azureContainer(stack, LISTED_CONTAINER);
  await container.createIfNotExists();
  const s3 = s3Client(stack);
  try {
    const names = Array.from(
      { length: pairs },
      (_, i) => `d${String(Math.floor(i / 1000)).padStart(3, '0')}/o${String(i).padStart(6, '0')}`,
    );
    await uploadSmallBlobs({
      container,
      names,
      size: 256,
      concurrency: 32,
      onUploaded: (blob, bytes) =>
        putBackupObject({
          s3,
          bucket: stack.aws.bucket,
          key: backupKeyFor({ account: stack.azure.accountName, container: LISTED_CONTAINER, blobName: blob.name }),
          blob,
          bytes,
        }),
    });
  } finally {
    s3.destroy();
  }
}

type SizeFigures = ToolFigures & { objectsPerS: number; wallS: number; peakRssMiB: number; projected1e8Minutes: number };

function figuresAt(rows: number, estate: PublishedEstate, runs: JoinRun[]): SizeFigures {
  const usage = medianUsage(runs);
  const phase = (pick: (result: JoinResult) => number) => round(median(runs.map((run) => pick(run.result))) / 1000);
  const first = runs[0]?.result as JoinResult;
  const joinS = phase((result) => result.joinMs);
  // Linear in the names, plus the passes 10^8 adds: each pass reads every name, so the join's time is counted again
  // for each (an upper bound: the pairing itself is done once over all passes).
  const extraJoinS = joinS * (Math.ceil(1e8 / DEFAULT_NAMES_PER_PASS) / first.passes - 1);
  return {
    objectsPerS: round(median(runs.map((run) => rows / run.wallS)), 0),
    ...usage,
    downloadS: phase((result) => result.downloadMs),
    joinS,
    joinPasses: first.passes,
    listS: phase((result) => result.listMs),
    reportsMiB: round(estate.reportBytes / MiB, 1),
    candidates: first.candidates,
    decided: first.decided,
    liveChecks: first.needsHead + first.readLive,
    liveChecksHead: first.needsHead,
    liveChecksReadLive: first.readLive,
    projected1e8Minutes: round(((usage.wallS + extraJoinS) * (1e8 / rows)) / 60, 1),
    generateS: round(estate.generateS, 1),
    publishS: round(estate.publishS, 1),
  };
}

export const reconcile10m: Scenario = {
  name: 'reconcile-10m',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const { rows: sizes, memoryLimitMiB, listingPairs } = context.profile.reconcile;
    const persistDir = join(context.workDir, 'reconcile-cloud');
    return withCloudProcess({ s3: context.s3, persistDir }, async (stack) => {
      context.log(`reconcile-10m: seeding ${listingPairs} in-sync pairs for listing verify`);
      await seedListed(context, stack);
      const listing: Measurement[] = [];
      const bySize = new Map<number, { estate: PublishedEstate; runs: JoinRun[] }>();
      for (const rows of sizes) {
        context.log(`reconcile-10m: generating and publishing two reports of ${rows} names`);
        const estate = await publishInventoryEstate(stack, rows, join(context.workDir, 'reports'));
        context.log(
          `reconcile-10m: reports of ${rows} written in ${round(estate.generateS, 1)} s, published in ${round(estate.publishS, 1)} s`,
        );
        bySize.set(rows, { estate, runs: [] });
      }
      for (let run = 0; run < context.runs; run++) {
        context.log(`reconcile-10m run ${run + 1}/${context.runs}: listing verify over ${listingPairs} pairs`);
        listing.push(await runVerify({ stack, container: LISTED_CONTAINER, targetPrefix: '', objects: listingPairs }));
        for (const rows of sizes) {
          context.log(`reconcile-10m run ${run + 1}/${context.runs}: inventory path over ${rows} names`);
          const entry = bySize.get(rows);
          if (!entry) continue;
          const { measurement, result } = await runWorker<JoinResult>('inventory-join', {
            stack,
            container: ESTATE_CONTAINER,
            keyRoot: entry.estate.keyRoot,
            azureManifest: entry.estate.azureManifest,
            s3Manifest: entry.estate.s3Manifest,
            workDirectory: context.workDir,
            memoryLimitMiB,
          });
          checkPlanted(rows, result);
          entry.runs.push({ ...measurement, result });
        }
      }
      return summarize(context, bySize, listing);
    });
  },
};

function summarize(
  context: BenchContext,
  bySize: Map<number, { estate: PublishedEstate; runs: JoinRun[] }>,
  listing: Measurement[],
): ScenarioResult {
  const { rows: sizes, memoryLimitMiB, listingPairs } = context.profile.reconcile;
  const [primary, ...larger] = sizes;
  const at = (rows: number) => {
    const entry = bySize.get(rows);
    if (!entry) throw new Error(`no runs at ${rows}`);
    return figuresAt(rows, entry.estate, entry.runs);
  };
  const blobferry = at(primary ?? 0);
  const listingUsage = medianUsage(listing);
  const listingObjectsPerS = round(median(listing.map((run) => listingPairs / run.wallS)), 0);
  const listingMinutes = round(1e8 / listingObjectsPerS / 60, 1);
  const growth = Object.fromEntries(
    larger.map((rows) => {
      const figures = at(rows);
      const scale = rows / (primary ?? 1);
      return [
        `at${rows}`,
        {
          ...figures,
          timeGrowthPerRow: round(figures.wallS / blobferry.wallS / scale),
          rssGrowth: round(figures.peakRssMiB / blobferry.peakRssMiB),
        },
      ];
    }),
  );
  const peak = Math.max(blobferry.peakRssMiB, ...Object.values(growth).map((figures) => figures.peakRssMiB));
  return {
    name: 'reconcile-10m',
    description:
      `two inventory reports (Azure Blob Inventory and S3 Inventory, Parquet) of ${sizes.join(' and ')} names each, in the local clouds, ` +
      `a difference of every kind in every 10,000; from the reports to a complete difference list (download, DuckDB join under ` +
      `${memoryLimitMiB} MB, list); listing verify over ${listingPairs} pairs for comparison`,
    blobferry: { ...blobferry, ...growth },
    rclone: { note: 'rclone has no inventory mode; compare with listing verify (limit)' },
    limit: {
      boundBy: 'listing verify',
      objectsPerS: listingObjectsPerS,
      ...listingUsage,
      pairs: listingPairs,
      projected1e8Minutes: listingMinutes,
    },
    ratioVsRclone: 0,
    fractionOfLimit: round(blobferry.objectsPerS / listingObjectsPerS),
    projected1e8Minutes: blobferry.projected1e8Minutes,
    targets: [
      {
        target: `10^8 projected under ${TARGET_MINUTES_1E8} minutes`,
        met: blobferry.projected1e8Minutes < TARGET_MINUTES_1E8,
        actual: `${blobferry.projected1e8Minutes} min (listing verify: ${listingMinutes} min)`,
      },
      { target: `peak RSS under ${TARGET_PEAK_RSS_MIB} MiB`, met: peak < TARGET_PEAK_RSS_MIB, actual: `${peak} MiB` },
    ],
    notes: [
      'of limit = inventory objects/s over listing verify objects/s in the same cloud; vs rclone does not apply (0x)',
      'live checks are counted, not made: the estate exists only in its reports',
      `projected1e8Minutes: the wall time scaled to 10^8 names, its join counted once more for every pass 10^8 adds (${Math.ceil(1e8 / DEFAULT_NAMES_PER_PASS)} passes of ${DEFAULT_NAMES_PER_PASS} names, each reading every name): an upper bound`,
      FIGURES_NOTE,
    ],
  };
}
