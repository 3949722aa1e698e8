import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  BLOBFERRY_ROLES,
  HOST_ROLE,
  busyTicksOfProcStat,
  cpuBetween,
  cpuBoundObjectsPerS,
  emulatorCpuS,
  medianCpu,
  parentPidOfStat,
  roleOfCommand,
  snapshotCpu,
} from '../src/machine-cpu.ts';

describe('busyTicksOfProcStat', () => {
  it('adds user, nice, system, irq, softirq and steal of the "cpu" line, not idle or iowait', () => {
    const text = 'cpu  100 5 30 9000 70 2 3 4 0 0\ncpu0 50 2 15 4500 35 1 1 2 0 0\nintr 1\n';
    expect(busyTicksOfProcStat(text)).toBe(100 + 5 + 30 + 2 + 3 + 4);
    expect(() => busyTicksOfProcStat('intr 1\n')).toThrow(/no "cpu" line/);
  });
});

describe('parentPidOfStat', () => {
  it('reads field 4, after a command name with spaces and parentheses', () => {
    expect(parentPidOfStat('4321 (a) b (c) S 77 4321 4321 0 -1\n')).toBe(77);
  });
});

describe('roleOfCommand', () => {
  it('names the emulators, the host, the CLI and rclone by their command lines', () => {
    expect(roleOfCommand('node\0/w/node_modules/azurite/dist/src/blob/main.js\0--blobPort\x000')).toBe('azurite-blob');
    expect(roleOfCommand('node\0/w/node_modules/azurite/dist/src/queue/main.js')).toBe('azurite-queue');
    expect(roleOfCommand('/w/.local-cloud/moto-venv/bin/python\0/w/.local-cloud/moto-venv/bin/moto_server\0-H')).toBe('moto');
    expect(roleOfCommand('node\0/w/tools/functions-host/dist/main.js\0--app\0/w/apps/backup-function/dist/index.js')).toBe(
      'functions-host (blobferry)',
    );
    expect(roleOfCommand('node\0/w/apps/verify-cli/dist/main.js\0backfill')).toBe('blobferry CLI');
    expect(roleOfCommand('/usr/bin/time\0-o\0/tmp/t\0rclone\0copy')).toBe('rclone');
    expect(roleOfCommand('node\0/w/bench/dist/workers/blobferry-copy.js\0{}')).toBe('blobferry copy');
    expect(roleOfCommand('node\0/w/bench/dist/workers/sweep-worker.js\0{}')).toBe('blobferry sweep');
    expect(roleOfCommand('node\0/tmp/blobferry-clone/bench/dist/workers/limit-worker.js\0{}')).toBe('thin client (limit)');
    expect(roleOfCommand('node\0/tmp/blobferry-clone/bench/dist/cloud-runner.js')).toBe(
      'local-cloud (Event Grid, identity, STS, S3 gateway)',
    );
    expect(roleOfCommand('python3\0-m\0http.server')).toBe('other');
  });
});

describe('medianCpu and cpuBoundObjectsPerS', () => {
  const window = (host: number, moto: number) => ({ wallS: 10, cores: 2, busyCores: 1.9, cpuSByRole: { [HOST_ROLE]: host, moto } });

  it('take the median per role, a role missing from a run counting as 0', () => {
    const runs = [window(8, 10), window(6, 12), { wallS: 12, cores: 2, busyCores: 1.5, cpuSByRole: { moto: 11 } }];
    expect(medianCpu(runs)).toEqual({ wallS: 10, cores: 2, busyCores: 1.9, cpuSByRole: { [HOST_ROLE]: 6, moto: 11 } });
  });

  it('bound the rate by the cores over the CPU per object, with or without blobferry', () => {
    // 1,000 objects: 20 CPU-s in all on 2 cores -> 100/s; without the host's 8 s, 12 CPU-s -> 166.7/s.
    expect(cpuBoundObjectsPerS(window(8, 12), 1000)).toBe(100);
    expect(cpuBoundObjectsPerS(window(8, 12), 1000, BLOBFERRY_ROLES)).toBe(166.7);
  });

  it("sum the local cloud's processes alone as the emulators' CPU", () => {
    const cpuSByRole = { [HOST_ROLE]: 8, moto: 3.5, 'azurite-blob': 1.25, 'azurite-queue': 0.5, rclone: 2, 'outside the bench': 4 };
    expect(emulatorCpuS({ wallS: 10, cores: 2, busyCores: 1.9, cpuSByRole })).toBe(5.25);
  });
});

describe.runIf(process.platform === 'linux')('snapshotCpu and cpuBetween', () => {
  it("count a child's CPU under its role, and the machine's busy time at least as large", async () => {
    // The child burns 0.4 CPU-seconds by its own count after the first snapshot, then waits to be measured.
    const script =
      "process.stdin.once('data', () => { for (;;) { const u = process.cpuUsage(); if (u.user + u.system >= 400000) break; } " +
      "process.stdout.write('done'); }); setInterval(() => undefined, 1000);";
    const child = spawn(process.execPath, ['-e', script, 'rclone'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const from = await snapshotCpu();
      expect(from.processes.get(child.pid ?? -1)?.role).toBe('rclone');
      child.stdin.write('go');
      await once(child.stdout, 'data');
      const to = await snapshotCpu();
      const cpu = cpuBetween(from, to, { 'exited tool': 1.5 });
      expect(cpu.cpuSByRole.rclone).toBeGreaterThanOrEqual(0.3);
      expect(cpu.cpuSByRole.rclone).toBeLessThan(5);
      expect(cpu.cpuSByRole['exited tool']).toBe(1.5);
      expect(cpu.busyCores).toBeGreaterThan(0);
      expect(cpu.busyCores).toBeLessThanOrEqual(cpu.cores + 0.5);
      expect(cpu.cpuSByRole['outside the bench']).toBeGreaterThanOrEqual(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
