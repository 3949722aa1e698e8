import type { Measurement } from './measure.js';
import { MiB, median, round } from './stats.js';

// How a tool's runs become its figures in the report: the medians of its rate, wall time and CPU-seconds, and
// the largest of its peak RSS.

type Usage = Pick<Measurement, 'wallS' | 'cpuS' | 'peakRssMiB'>;

/** Medians over runs of the wall time and the CPU-seconds; the largest peak RSS. */
export function medianUsage(runs: readonly Usage[]): { wallS: number; cpuS: number; peakRssMiB: number } {
  return {
    wallS: round(median(runs.map((r) => r.wallS))),
    cpuS: round(median(runs.map((r) => r.cpuS))),
    peakRssMiB: round(Math.max(...runs.map((r) => r.peakRssMiB)), 1),
  };
}

/** The median over runs of `bytes` over each run's wall time, in MiB/s. */
export function medianMbPerS(runs: readonly Usage[], bytes: number): number {
  return round(median(runs.map((r) => bytes / MiB / r.wallS)));
}

/** The median over runs of `objects` over each run's wall time, rounded to `digits`. */
export function medianObjectsPerS(runs: readonly Usage[], objects: number, digits: number): number {
  return round(median(runs.map((r) => objects / r.wallS)), digits);
}
