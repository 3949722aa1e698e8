import type { BenchContext } from './scenario.js';

// The skeleton every scenario shares: in each run, one step per figure (blobferry's, rclone's, each half of the
// limit), each step its own measurement, in an order that turns from run to run.

/** One run's steps, one per figure: each measures its figure and returns it. */
export type RunSteps<F> = { [K in keyof F]-?: () => Promise<F[K]> };

export interface MeasureRunOptions<F> {
  context: BenchContext;
  /** What the log lines name: `large-blob` logs "large-blob run 2/3: rclone". */
  label: string;
  /** 0-based. */
  run: number;
  steps: RunSteps<F>;
  /**
   * `rotated` (the default): run n starts at the n-th step, so no tool always meets a cold or a warm endpoint.
   * `as-listed`: for steps that read what the first one writes (small-blobs: blobferry's uploads are the set).
   */
  order?: 'rotated' | 'as-listed';
}

export interface AlternatingRunsOptions<F> extends Omit<MeasureRunOptions<F>, 'run' | 'steps'> {
  /** The steps of run `run` (0-based). */
  stepsOf(run: number): RunSteps<F>;
}

/** Rotates `items` by `run`: the order each run takes its steps in. */
export function rotate<T>(items: readonly T[], run: number): T[] {
  const shift = run % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** One run: its steps one after the other, each logged as it starts; returns the figures they measured. */
export async function measureRun<F>(options: MeasureRunOptions<F>): Promise<F> {
  const { context, label, run, steps } = options;
  const names = Object.keys(steps) as Array<keyof F & string>;
  const figures: Partial<F> = {};
  for (const name of options.order === 'as-listed' ? names : rotate(names, run)) {
    context.log(`${label} run ${run + 1}/${context.runs}: ${name}`);
    figures[name] = await steps[name]();
  }
  return figures as F;
}

/** Every run of a scenario (`context.runs` of them), one after the other; their figures in run order. */
export async function alternatingRuns<F>(options: AlternatingRunsOptions<F>): Promise<F[]> {
  const { stepsOf, ...rest } = options;
  const runs: F[] = [];
  for (let run = 0; run < options.context.runs; run++) runs.push(await measureRun({ ...rest, run, steps: stepsOf(run) }));
  return runs;
}
