import { describe, expect, it } from 'vitest';
import { alternatingRuns, measureRun, rotate } from '../src/alternating-runs.ts';
import { PROFILES } from '../src/profile.ts';
import type { BenchContext } from '../src/scenario.ts';

function contextOf(runs: number, log: string[]): BenchContext {
  return { profile: PROFILES.quick, runs, s3: 'moto', workDir: '/nowhere', log: (message) => log.push(message) };
}

/** Steps that record the order they ran in and return their own name with the run's number. */
function recordingSteps(order: string[], run: number) {
  const step = (name: string) => async () => {
    order.push(name);
    return `${name}@${run}`;
  };
  return { blobferry: step('blobferry'), rclone: step('rclone'), limit: step('limit') };
}

describe('rotate', () => {
  it('starts run n at the n-th item and wraps around', () => {
    expect(rotate(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
    expect(rotate([], 2)).toEqual([]);
  });
});

describe('alternatingRuns', () => {
  it('runs every step once per run, in an order that turns from run to run, and keys each figure by its step', async () => {
    const order: string[] = [];
    const log: string[] = [];
    const runs = await alternatingRuns({ context: contextOf(3, log), label: 'demo', stepsOf: (run) => recordingSteps(order, run) });
    expect(order).toEqual(['blobferry', 'rclone', 'limit', 'rclone', 'limit', 'blobferry', 'limit', 'blobferry', 'rclone']);
    expect(runs).toEqual([0, 1, 2].map((run) => ({ blobferry: `blobferry@${run}`, rclone: `rclone@${run}`, limit: `limit@${run}` })));
    expect(log.slice(0, 4)).toEqual(['demo run 1/3: blobferry', 'demo run 1/3: rclone', 'demo run 1/3: limit', 'demo run 2/3: rclone']);
  });

  it('stops at the first step that throws', async () => {
    const order: string[] = [];
    const steps = {
      ...recordingSteps(order, 0),
      rclone: async () => {
        throw new Error('rclone check found differences');
      },
    };
    await expect(measureRun({ context: contextOf(1, []), label: 'demo', run: 0, steps })).rejects.toThrow(/differences/);
    expect(order).toEqual(['blobferry']);
  });
});

describe('measureRun as listed', () => {
  it('keeps the steps in the order written, whatever the run', async () => {
    const order: string[] = [];
    await measureRun({ context: contextOf(3, []), label: 'demo', run: 2, steps: recordingSteps(order, 2), order: 'as-listed' });
    expect(order).toEqual(['blobferry', 'rclone', 'limit']);
  });
});
