import type { LocalCloudOptions } from '@blobferry/local-cloud';
import { fileURLToPath } from 'node:url';
import type { LimitRequest, LimitResult } from './limit-operations.js';
import { runMeasured, type Measurement, type RunOptions } from './measure.js';
import type { Profile } from './profile.js';
import { parseResult } from './workers/worker-io.js';

// What every scenario gets and gives back.

/** The local cloud's S3: moto, s3rver, or an endpoint run outside the bench (`--s3-endpoint`). */
export type BenchS3 = NonNullable<LocalCloudOptions['s3']>;

export interface BenchContext {
  profile: Profile;
  runs: number;
  s3: BenchS3;
  /** Scratch folder for this bench run (rclone.conf, stack files); removed at the end. */
  workDir: string;
  log(message: string): void;
}

export interface TargetCheck {
  target: string;
  met: boolean;
  actual: string;
}

/** One tool's figures in a scenario: medians across runs, and the worst peak RSS of any run. */
export type ToolFigures = Record<string, number | string | boolean | Record<string, unknown> | undefined>;

export interface ScenarioResult {
  name: string;
  description: string;
  blobferry: ToolFigures;
  rclone: ToolFigures;
  limit: ToolFigures;
  /** blobferry's rate over rclone's (> 1: blobferry is faster). */
  ratioVsRclone: number;
  /** blobferry's rate over the limit's. */
  fractionOfLimit: number;
  targets: TargetCheck[];
  notes: string[];
  /** reconcile-10m: the time 10^8 names would take, projected linearly from the measured size. */
  projected1e8Minutes?: number;
}

/** Every scenario's last note: its notes are short, the figures are explained in the README. */
export const FIGURES_NOTE = 'what each figure means: bench/README.md, "Reading a report"';

export interface Scenario {
  name: string;
  run(context: BenchContext): Promise<ScenarioResult>;
}

export function workerPath(name: string): string {
  return fileURLToPath(new URL(`./workers/${name}.js`, import.meta.url));
}

/** Extra Node flags for blobferry's processes, for profiling them in place (e.g. `--cpu-prof --cpu-prof-dir /tmp/p`). */
export function profilingNodeArgs(): string[] {
  return (process.env.BLOBFERRY_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** Runs a bench worker (a Node child process) under GNU time and parses its RESULT line. */
export async function runWorker<T>(
  name: string,
  args: unknown,
  options: RunOptions & { nodeArgs?: string[] } = {},
): Promise<{ measurement: Measurement; result: T }> {
  // The limit workers are the bench's own measuring stick, not blobferry: never profiled.
  const nodeArgs = [...(name === 'limit-worker' ? [] : profilingNodeArgs()), ...(options.nodeArgs ?? [])];
  const measurement = await runMeasured(process.execPath, [...nodeArgs, workerPath(name), JSON.stringify(args)], options);
  return { measurement, result: parseResult<T>(measurement.stdout) };
}

/**
 * Runs one limit operation in the limit worker and times the operation itself, from inside the worker: the limit
 * is the endpoint's rate, so the worker's own start-up is not part of it.
 */
export async function runLimit(request: LimitRequest): Promise<Measurement & { objects: number; bytes: number; opCpuS: number }> {
  const { measurement, result } = await runWorker<LimitResult>('limit-worker', request);
  // opCpuS: the worker's CPU over the operation itself, as it measured it (its start-up excluded).
  return { ...measurement, wallS: result.durationMs / 1000, objects: result.objects, bytes: result.bytes, opCpuS: result.cpuS };
}
