import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { clockTicksPerSecond, cpuTicksOfStat } from './proc-usage.js';
import { median } from './stats.js';

// Where the machine's CPU went during a measured window. The emulators and the tool under test share the same
// cores, so when a scenario is bound by the machine rather than by one process, this shows by whom: every
// process the bench started (the local cloud's emulators, the Functions host, the CLI, the bench itself, which
// also plays the users who upload), by role, and the machine's busy time from /proc/stat, which includes any
// process outside the bench.

export interface CpuSnapshot {
  at: number;
  /** Busy ticks of all CPUs together (/proc/stat: user, nice, system, irq, softirq, steal). */
  machineBusyTicks: number;
  /** utime + stime of each process under the bench, and its role. */
  processes: Map<number, { role: string; ticks: number }>;
}

export interface MachineCpu {
  wallS: number;
  cores: number;
  /** Cores busy on average over the window, of `cores`. */
  busyCores: number;
  /** CPU-seconds by role; `outside the bench` is the machine's busy time that no process of the bench used. */
  cpuSByRole: Record<string, number>;
}

/** The busy ticks on the first ("cpu") line of /proc/stat. */
export function busyTicksOfProcStat(text: string): number {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no "cpu" line in /proc/stat');
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].map((v) => v ?? 0);
  if (busy.some((v) => !Number.isFinite(v))) throw new Error(`not a /proc/stat cpu line: ${line}`);
  return busy.reduce((a, b) => a + b, 0);
}

/** The parent pid (field 4) of a /proc/<pid>/stat line. */
export function parentPidOfStat(stat: string): number {
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** How a scenario's `machineCpu` of each tool reads, for its notes. */
export const MACHINE_CPU_NOTE =
  "machineCpu (blobferry, rclone): where the cores' time went during that tool's run, by process role, median of runs (see bench/README.md)";

/** How `limit.machineCpuObjectsPerS` and `limit.withoutBlobferryCpuObjectsPerS` read, for a scenario's notes. */
export const MACHINE_CPU_BOUND_NOTE =
  "limit.machineCpuObjectsPerS, withoutBlobferryCpuObjectsPerS: the rates the cores allow at blobferry's window's CPU per object, " +
  "with and without blobferry's own processes";

/** The Functions host running the backup function (small-blobs). */
export const HOST_ROLE = 'functions-host (blobferry)';
/** The blobferry CLI (backfill, verify). */
export const CLI_ROLE = 'blobferry CLI';
/** The bench's worker around libs/transfer's copy (large-blob). */
export const COPY_ROLE = 'blobferry copy';
/** The bench's worker running the scheduled sweep as a Function instance does (sweep). */
export const SWEEP_ROLE = 'blobferry sweep';
/** The roles that are blobferry itself; every other role is an emulator, the bench, rclone or the machine. */
export const BLOBFERRY_ROLES = [HOST_ROLE, CLI_ROLE, COPY_ROLE, SWEEP_ROLE];
/** The local cloud's processes: the endpoints every tool talks to. */
export const EMULATOR_ROLES = [
  'azurite-blob',
  'azurite-queue',
  'moto',
  's3rver',
  'local-cloud (Event Grid, identity, STS, S3 gateway)',
] as const;

const [AZURITE_BLOB, AZURITE_QUEUE, MOTO, S3RVER, LOCAL_CLOUD] = EMULATOR_ROLES;
const ROLES: [RegExp, string][] = [
  [/azurite\/dist\/src\/blob\//, AZURITE_BLOB],
  [/azurite\/dist\/src\/queue\//, AZURITE_QUEUE],
  [/moto_server|moto\.server/, MOTO],
  [/s3rver/, S3RVER],
  [/cloud-runner/, LOCAL_CLOUD],
  [/tools\/functions-host\//, HOST_ROLE],
  [/apps\/verify-cli\//, CLI_ROLE],
  [/workers\/blobferry-copy\./, COPY_ROLE],
  [/workers\/sweep-worker\./, SWEEP_ROLE],
  [/workers\/limit-worker\./, 'thin client (limit)'],
  // GNU time's own process has rclone in its command line and next to no CPU of its own.
  [/\brclone\b/, 'rclone'],
];

/** The role of a process by its command line (NUL-separated as in /proc/<pid>/cmdline). */
export function roleOfCommand(cmdline: string): string {
  const text = cmdline.replaceAll('\0', ' ');
  return ROLES.find(([pattern]) => pattern.test(text))?.[1] ?? 'other';
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined; // the process exited meanwhile
  }
}

/** The machine's busy ticks and the CPU ticks of every process in the tree under `rootPid` (the bench). */
export async function snapshotCpu(rootPid = process.pid): Promise<CpuSnapshot> {
  const machineBusyTicks = busyTicksOfProcStat(await readFile('/proc/stat', 'utf8'));
  const stats = new Map<number, string>();
  await Promise.all(
    (await readdir('/proc'))
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        const stat = await readOrUndefined(`/proc/${name}/stat`);
        if (stat) stats.set(Number(name), stat);
      }),
  );
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) {
    const parent = parentPidOfStat(stat);
    children.set(parent, [...(children.get(parent) ?? []), pid]);
  }
  const processes = new Map<number, { role: string; ticks: number }>();
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop() as number;
    const stat = stats.get(pid);
    if (stat === undefined) continue;
    const role = pid === rootPid ? 'bench (uploads, waiting)' : roleOfCommand((await readOrUndefined(`/proc/${pid}/cmdline`)) ?? '');
    processes.set(pid, { role, ticks: cpuTicksOfStat(stat) });
    pending.push(...(children.get(pid) ?? []));
  }
  return { at: performance.now(), machineBusyTicks, processes };
}

/**
 * The CPU used between two snapshots, by role. A process that started after `from` counts from zero; one that
 * exited before `to` is missing from `to` and counts nothing (measure such a process itself, e.g. with GNU time,
 * and pass it as `exited`).
 */
export function cpuBetween(from: CpuSnapshot, to: CpuSnapshot, exited: Record<string, number> = {}): MachineCpu {
  const tick = clockTicksPerSecond();
  const cpuSByRole: Record<string, number> = { ...exited };
  for (const [pid, { role, ticks }] of to.processes) {
    const delta = (ticks - (from.processes.get(pid)?.ticks ?? 0)) / tick;
    cpuSByRole[role] = (cpuSByRole[role] ?? 0) + delta;
  }
  const wallS = (to.at - from.at) / 1000;
  const machineS = (to.machineBusyTicks - from.machineBusyTicks) / tick;
  const benchS = Object.values(cpuSByRole).reduce((a, b) => a + b, 0);
  cpuSByRole['outside the bench'] = Math.max(0, machineS - benchS);
  for (const role of Object.keys(cpuSByRole)) cpuSByRole[role] = Math.round((cpuSByRole[role] ?? 0) * 100) / 100;
  return { wallS: Math.round(wallS * 100) / 100, cores: cpus().length, busyCores: Math.round((machineS / wallS) * 100) / 100, cpuSByRole };
}

/** Per role, the median over runs (wall time and busy cores too): one figure set for a scenario's report. */
export function medianCpu(runs: MachineCpu[]): MachineCpu {
  const roles = [...new Set(runs.flatMap((run) => Object.keys(run.cpuSByRole)))];
  const of = (pick: (run: MachineCpu) => number) => Math.round(median(runs.map(pick)) * 100) / 100;
  return {
    wallS: of((run) => run.wallS),
    cores: runs[0]?.cores ?? cpus().length,
    busyCores: of((run) => run.busyCores),
    cpuSByRole: Object.fromEntries(roles.map((role) => [role, of((run) => run.cpuSByRole[role] ?? 0)])),
  };
}

/** The CPU-seconds the local cloud's processes spent in the window. */
export function emulatorCpuS(cpu: MachineCpu): number {
  return Math.round(EMULATOR_ROLES.reduce((sum, role) => sum + (cpu.cpuSByRole[role] ?? 0), 0) * 100) / 100;
}

/**
 * What the window's cores could finish per second if every process but those of the `except` roles spent, per
 * object, what it spent in the window: with `except` = BLOBFERRY_ROLES, the rate no blobferry could pass there,
 * however little CPU it used.
 */
export function cpuBoundObjectsPerS(cpu: MachineCpu, objects: number, except: string[] = []): number {
  const cpuS = Object.entries(cpu.cpuSByRole)
    .filter(([role]) => !except.includes(role))
    .reduce((sum, [, seconds]) => sum + seconds, 0);
  return Math.round(((cpu.cores * objects) / cpuS) * 10) / 10;
}

/**
 * Runs `work` (a tool in its own process under GNU time, which has exited when `work` resolves) and says where the
 * machine's CPU went meanwhile, the tool's own CPU under `role`.
 */
export async function withMachineCpu<T extends { cpuS: number }>(
  role: string,
  work: () => Promise<T>,
): Promise<T & { machine: MachineCpu }> {
  const from = await snapshotCpu();
  const measured = await work();
  return { ...measured, machine: cpuBetween(from, await snapshotCpu(), { [role]: measured.cpuS }) };
}
