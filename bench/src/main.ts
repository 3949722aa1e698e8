import { Command, Option } from 'commander';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ACCESS_KEY_VARIABLE, externalS3, SECRET_KEY_VARIABLE } from './external-s3.js';
import { describeMachine } from './machine.js';
import { gnuTime } from './measure.js';
import { PROFILES } from './profile.js';
import { renderReport, type BenchReport } from './report.js';
import type { BenchS3, Scenario, ScenarioResult } from './scenario.js';
import { backfill } from './scenarios/backfill.js';
import { largeBlob } from './scenarios/large-blob.js';
import { reconcile10m } from './scenarios/reconcile-10m.js';
import { restore } from './scenarios/restore.js';
import { smallBlobs } from './scenarios/small-blobs.js';
import { sweep } from './scenarios/sweep.js';
import { verifyDeep } from './scenarios/verify-deep.js';
import { verifyList } from './scenarios/verify-list.js';
import { round } from './stats.js';

// `npm run bench`: every scenario (or one), blobferry and rclone side by side with the endpoints' own limit.
// Needs GNU time (Debian: apt-get install -y time) and rclone (apt-get install -y rclone).

const SCENARIOS: Scenario[] = [largeBlob, smallBlobs, verifyList, verifyDeep, backfill, reconcile10m, restore, sweep];
const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

const program = new Command('bench')
  .description('blobferry vs rclone vs the endpoints alone, on the local clouds')
  .option('--quick', 'small sizes and counts, one run each: about a minute')
  .addOption(new Option('--scenario <name>', 'run one scenario').choices(SCENARIOS.map((s) => s.name)))
  .option('--runs <n>', 'runs per measurement (median reported); default 3, or 1 with --quick', (v) => Number.parseInt(v, 10))
  .addOption(new Option('--s3 <kind>', 'S3 endpoint of the local cloud').choices(['moto', 's3rver']).default('moto'))
  .addOption(
    new Option(
      '--s3-endpoint <url>',
      `an S3 server you run yourself, in place of moto (key pair from ${ACCESS_KEY_VARIABLE} and ${SECRET_KEY_VARIABLE})`,
    ).conflicts('s3'),
  )
  .option(
    '--reconcile-rows <list>',
    'reconcile-10m: names per report, comma-separated (e.g. 10000000,30000000 to show time linear and memory flat)',
    (value) => value.split(',').map((rows) => Number.parseInt(rows, 10)),
  )
  .option('--json', 'print one JSON document on stdout (the table goes to stderr)')
  .option('--no-save', 'do not write bench/results/<date>.json and latest.json');
program.parse();
const options = program.opts<{
  quick?: boolean;
  scenario?: string;
  runs?: number;
  s3: 's3rver' | 'moto';
  s3Endpoint?: string;
  json?: boolean;
  save: boolean;
  reconcileRows?: number[];
}>();

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

try {
  gnuTime();
} catch (error) {
  log(`GNU time measures each tool's peak RSS: ${(error as Error).message}`);
  process.exit(2);
}

function chosenS3(): BenchS3 {
  if (options.s3Endpoint === undefined) return options.s3;
  try {
    return externalS3(options.s3Endpoint, process.env);
  } catch (error) {
    log((error as Error).message);
    process.exit(2);
  }
}
const s3 = chosenS3();

const chosenProfile = PROFILES[options.quick ? 'quick' : 'full'];
const reconcileRows = options.reconcileRows;
if (reconcileRows?.some((rows) => !Number.isInteger(rows) || rows < 10_000 || rows % 10_000 !== 0)) {
  log('--reconcile-rows: each size must be a whole multiple of 10,000 (the planted differences repeat every 10,000 names)');
  process.exit(2);
}
const profile = reconcileRows ? { ...chosenProfile, reconcile: { ...chosenProfile.reconcile, rows: reconcileRows } } : chosenProfile;
const runs = options.runs ?? profile.defaultRuns;
const selected = SCENARIOS.filter((scenario) => !options.scenario || scenario.name === options.scenario);
const workDir = await mkdtemp(join(tmpdir(), 'blobferry-bench-'));
const startedAt = new Date();
const stamp = startedAt
  .toISOString()
  .replace(/[:]/g, '-')
  .replace(/\.\d+Z$/, 'Z');
const resultsName = `${stamp}${profile.name === 'quick' ? '-quick' : ''}${options.scenario ? `-${options.scenario}` : ''}.json`;
const results: ScenarioResult[] = [];
const failures: Array<{ name: string; error: string }> = [];
const machine = describeMachine(s3);

function reportSoFar(): BenchReport {
  return {
    machine: { ...machine, loadAverageAtEnd: loadavg().map((value) => round(value)) },
    profile: profile.name,
    runs,
    startedAt: startedAt.toISOString(),
    durationS: round((Date.now() - startedAt.getTime()) / 1000, 1),
    scenarios: results,
    ...(failures.length > 0 ? { failures } : {}),
  };
}

/** Written after every scenario, so a failure late in a long run keeps what was measured. */
async function save(report: BenchReport, final: boolean): Promise<void> {
  if (!options.save) return;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, resultsName), json);
  const complete = profile.name === 'full' && !options.scenario && failures.length === 0;
  if (final && complete) await writeFile(join(RESULTS_DIR, 'latest.json'), json);
}

try {
  for (const scenario of selected) {
    log(`scenario ${scenario.name} (${profile.name}, ${runs} run(s))`);
    try {
      results.push(await scenario.run({ profile, runs, s3, workDir, log }));
    } catch (error) {
      // One broken scenario must not cost the others' figures: record it and go on.
      const message = error instanceof Error ? error.message : String(error);
      log(`scenario ${scenario.name} FAILED: ${message}`);
      failures.push({ name: scenario.name, error: message.slice(0, 2000) });
    }
    await save(reportSoFar(), false);
  }
  const report = reportSoFar();
  await save(report, true);
  if (options.save) log(`results saved to bench/results/${resultsName}`);
  const table = renderReport(report);
  if (options.json) {
    process.stderr.write(`${table}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`${table}\n`);
  }
  if (failures.length > 0) process.exitCode = 1;
} finally {
  await rm(workDir, { recursive: true, force: true });
}
