import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { clockTicksPerSecond, cpuTicksOfStat, peakRssKiBOfStatus, processUsage } from '../src/proc-usage.ts';

describe('cpuTicksOfStat', () => {
  it('adds utime and stime (fields 14 and 15), even when the command name holds spaces and parentheses', () => {
    const tail = 'S 1 1234 1234 0 -1 4194560 5000 0 0 0 250 40 7 9 20 0 11 0 100 1000000 5000';
    expect(cpuTicksOfStat(`1234 (node) ${tail}\n`)).toBe(290);
    expect(cpuTicksOfStat(`1234 (a) b (c) ${tail}\n`)).toBe(290);
  });

  it('refuses a line that is not /proc/<pid>/stat', () => {
    expect(() => cpuTicksOfStat('1234 (node)')).toThrow(/not a \/proc/);
  });
});

describe('peakRssKiBOfStatus', () => {
  it('reads VmHWM', () => {
    expect(peakRssKiBOfStatus('Name:\tnode\nVmPeak:\t  900000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  100000 kB\n')).toBe(204800);
    expect(() => peakRssKiBOfStatus('Name:\tnode\n')).toThrow(/VmHWM/);
  });
});

describe.runIf(process.platform === 'linux')('processUsage', () => {
  it('knows the clock tick', () => {
    expect(clockTicksPerSecond()).toBeGreaterThan(0);
  });

  it("measures another process's CPU and peak RSS while it runs", async () => {
    // The child touches 200 MiB and burns half a CPU-second (by its own count: a busy machine stretches the wall
    // time, not the CPU time), then waits to be measured.
    const script =
      'const b = Buffer.alloc(200 * 1024 * 1024, 1); ' +
      'for (;;) { const u = process.cpuUsage(); if (u.user + u.system >= 500000) break; } ' +
      'process.stdout.write(String(b[0])); setInterval(() => undefined, 1000);';
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await once(child.stdout, 'data');
      const usage = await processUsage(child.pid ?? -1);
      expect(usage.peakRssMiB).toBeGreaterThan(200);
      expect(usage.peakRssMiB).toBeLessThan(400);
      expect(usage.cpuS).toBeGreaterThanOrEqual(0.45);
      expect(usage.cpuS).toBeLessThan(10);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
