import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

// A process the bench does not start under GNU time (the Functions host, which tools/functions-host spawns) is
// measured from /proc while it still runs: its CPU so far (utime + stime) and its peak RSS so far (VmHWM).

export interface ProcessUsage {
  cpuS: number;
  peakRssMiB: number;
}

let ticksPerSecond: number | undefined;
/** The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of /proc/<pid>/stat's CPU times. */
export function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(ticksPerSecond) || ticksPerSecond <= 0) throw new Error(`getconf CLK_TCK printed ${ticksPerSecond}`);
  return ticksPerSecond;
}

/**
 * utime + stime in clock ticks, from the text of /proc/<pid>/stat: fields 14 and 15, counted after the command
 * name (field 2, in parentheses), which may itself hold spaces and parentheses. Every thread of the process is
 * included; reaped children are not.
 */
export function cpuTicksOfStat(stat: string): number {
  const fields = stat
    .slice(stat.lastIndexOf(')') + 2)
    .trim()
    .split(' ');
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 200)}`);
  return utime + stime;
}

/** VmHWM (peak resident set size) in KiB, from the text of /proc/<pid>/status. */
export function peakRssKiBOfStatus(status: string): number {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!match?.[1]) throw new Error('no VmHWM line in /proc/<pid>/status');
  return Number(match[1]);
}

/** CPU-seconds and peak RSS of a running process so far. */
export async function processUsage(pid: number): Promise<ProcessUsage> {
  const [stat, status] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile(`/proc/${pid}/status`, 'utf8')]);
  return { cpuS: cpuTicksOfStat(stat) / clockTicksPerSecond(), peakRssMiB: peakRssKiBOfStatus(status) / 1024 };
}
