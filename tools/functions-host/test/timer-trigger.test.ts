import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunctionsHost, type FunctionsHostProcess } from '../src/host-process.js';

// Timer triggers in host processes of their own, with the host storage in Azurite: the schedule, one run
// at a time, one instance at a time across hosts (a real blob lease), and isPastDue after a missed occurrence.

const APP = fileURLToPath(new URL('./fixtures/timer-app.ts', import.meta.url));

let cloud: LocalCloud;
let hosts: ContainerClient;
let workDir: string;
let hostJsonPath: string;
const started: FunctionsHostProcess[] = [];

beforeAll(async () => {
  cloud = await startLocalCloud({ log: () => undefined });
  hosts = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getContainerClient('azure-webjobs-hosts');
  workDir = await mkdtemp(join(tmpdir(), 'functions-host-timers-'));
  hostJsonPath = join(workDir, 'host.json');
  // The shortest lease Azure grants, and a quick retry for the host without the lock.
  await writeFile(
    hostJsonPath,
    JSON.stringify({ version: '2.0', singleton: { listenerLockPeriod: '00:00:15', listenerLockRecoveryPollingInterval: '00:00:01' } }),
  );
});
afterAll(async () => {
  await Promise.all(started.map((host) => host.stop(5000)));
  await cloud?.stop();
  await rm(workDir, { recursive: true, force: true });
});

interface Tick {
  pid: number;
  startedAt: string;
  endedAt: string;
  isPastDue: boolean;
  scheduleStatus: { last: string; next: string; lastUpdated: string } | null;
  invocationId: string;
}

/** One app's host processes, sharing a host id, with every log entry they write. */
function timerApp(settings: { schedule: string; runMs?: number }) {
  const hostId = `t-${randomUUID().slice(0, 8)}`;
  const logs: Array<Record<string, unknown>> = [];
  const appSettings = {
    AzureWebJobsStorage: cloud.stack.azure.connectionString,
    AzureFunctionsWebHost__hostid: hostId,
    TICK_SCHEDULE: settings.schedule,
    TICK_RUN_MS: String(settings.runMs ?? 0),
  };
  return {
    hostId,
    logs,
    ticks: () => logs.filter((entry) => entry.tick === true) as unknown as Tick[],
    async start(): Promise<FunctionsHostProcess> {
      const host = await startFunctionsHost({ appEntry: APP, hostJsonPath, appSettings, log: (entry) => logs.push(entry) });
      started.push(host);
      return host;
    },
  };
}

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ms = (iso: string) => new Date(iso).getTime();

describe('timer triggers', () => {
  it("runs a %SETTING% schedule's occurrences, hands the function the runtime's Timer, and logs and records as the runtime does", async () => {
    const timers = timerApp({ schedule: '*/2 * * * * *' });
    const host = await timers.start();
    await until(() => timers.ticks().length >= 3);
    await host.stop();
    const ticks = timers.ticks();

    for (const tick of ticks) {
      expect(tick.isPastDue).toBe(false);
      // Each run is the occurrence it was handed as `next`, on an even second, started when it came.
      const occurrence = ms(tick.scheduleStatus?.next ?? '');
      expect(new Date(occurrence).getUTCSeconds() % 2).toBe(0);
      expect(ms(tick.startedAt) - occurrence).toBeGreaterThanOrEqual(0);
      expect(ms(tick.startedAt) - occurrence).toBeLessThan(1000);
    }
    // The first run of a new timer has no last occurrence; then each run's `last` is when the previous one
    // fired (its occurrence, or a moment after), and `next` the occurrence after that.
    expect(ticks[0]?.scheduleStatus?.last).toBe('0001-01-01T00:00:00');
    for (let index = 1; index < ticks.length; index++) {
      const previousOccurrence = ms(ticks[index - 1]?.scheduleStatus?.next ?? '');
      expect(ms(ticks[index]?.scheduleStatus?.last ?? '') - previousOccurrence).toBeGreaterThanOrEqual(0);
      expect(ms(ticks[index]?.scheduleStatus?.last ?? '') - previousOccurrence).toBeLessThan(1000);
      expect(ms(ticks[index]?.scheduleStatus?.next ?? '')).toBe(previousOccurrence + 2000);
    }

    const messages = timers.logs.map((entry) => String(entry.msg ?? ''));
    const listed = messages.find((msg) => msg.startsWith("The next 5 occurrences of the 'tick' schedule (Cron: '*/2 * * * * *') will be:"));
    expect(listed?.split('\n').slice(1)).toEqual(
      Array.from({ length: 5 }, () => expect.stringMatching(/^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d[02468]Z$/)),
    );
    for (const tick of ticks) {
      const id = tick.invocationId;
      expect(messages).toContainEqual(
        expect.stringMatching(new RegExp(`^Executing 'Functions\\.tick' \\(Reason='Timer fired at [^']+', Id=${id}\\)$`)),
      );
      expect(messages).toContainEqual(
        expect.stringMatching(new RegExp(`^Executed 'Functions\\.tick' \\(Succeeded, Id=${id}, Duration=\\d+ms\\)$`)),
      );
    }

    // The schedule status the next host starts from, where the runtime keeps it.
    const status = JSON.parse(
      (await hosts.getBlobClient(`timers/${timers.hostId}/Host.Functions.tick/status`).downloadToBuffer()).toString(),
    ) as Record<string, string>;
    const lastOccurrence = ms(ticks.at(-1)?.scheduleStatus?.next ?? '');
    expect(status).toEqual({ Last: expect.any(String), Next: new Date(lastOccurrence + 2000).toISOString(), LastUpdated: status.Last });
    expect(ms(status.Last ?? '') - lastOccurrence).toBeGreaterThanOrEqual(0);
    expect(ms(status.Last ?? '') - lastOccurrence).toBeLessThan(1000);
  }, 60_000);

  it('never overlaps runs: an occurrence that passes during a run is run once, right after it, not as past due', async () => {
    const timers = timerApp({ schedule: '* * * * * *', runMs: 2500 });
    const host = await timers.start();
    await until(() => timers.ticks().length >= 3);
    await host.stop();
    const ticks = timers.ticks();
    for (let index = 1; index < ticks.length; index++) {
      const previous = ticks[index - 1] as Tick;
      const tick = ticks[index] as Tick;
      expect(ms(tick.startedAt)).toBeGreaterThanOrEqual(ms(previous.endedAt));
      expect(ms(tick.startedAt) - ms(previous.endedAt)).toBeLessThan(500);
      // The occurrence it stands for came during the previous run, 2 s before it started.
      expect(ms(tick.scheduleStatus?.next ?? '')).toBeLessThan(ms(previous.endedAt));
      expect(tick.isPastDue).toBe(false);
    }
  }, 60_000);

  it('runs on one host at a time (a blob lease); when that host stops, the other takes over and runs each occurrence once', async () => {
    const timers = timerApp({ schedule: '* * * * * *' });
    const [first, second] = await Promise.all([timers.start(), timers.start()]);
    await until(() => timers.ticks().length >= 4);
    const holderPid = timers.ticks()[0]?.pid;
    const holder = holderPid === first.pid ? first : second;
    const other = holder === first ? second : first;
    expect(timers.ticks().every((tick) => tick.pid === holder.pid)).toBe(true);
    const lock = hosts.getBlobClient(`locks/${timers.hostId}/Host.Functions.tick.Listener`);
    const properties = await lock.getProperties();
    expect(properties.leaseState).toBe('leased');
    expect(properties.metadata?.functioninstance ?? properties.metadata?.FunctionInstance).toMatch(new RegExp(`-${holder.pid}$`));
    expect(
      timers.logs.some(
        (entry) =>
          entry.pid === other.pid && entry.msg === `Unable to acquire Singleton lock (${timers.hostId}/Host.Functions.tick.Listener).`,
      ),
    ).toBe(true);

    await holder.stop();
    const before = timers.ticks().length;
    await until(() => timers.ticks().filter((tick) => tick.pid === other.pid).length >= 3);
    await other.stop();
    const ticks = timers.ticks();
    expect(ticks.slice(before).every((tick) => tick.pid === other.pid)).toBe(true);
    const occurrences = ticks.map((tick) => tick.scheduleStatus?.next);
    expect(new Set(occurrences).size).toBe(occurrences.length);
  }, 90_000);

  it('runs an occurrence missed while no host ran at once on start, with isPastDue and the schedule status that shows it', async () => {
    const timers = timerApp({ schedule: '*/3 * * * * *' });
    const first = await timers.start();
    await until(() => timers.ticks().length >= 1);
    await first.stop();
    const lastRun = timers.ticks().at(-1);
    const missed = ms(lastRun?.scheduleStatus?.next ?? '') + 3000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, missed - Date.now() + 500)));

    const second = await timers.start();
    const startedAt = Date.now();
    await until(() => timers.ticks().some((tick) => tick.pid === second.pid));
    await second.stop();
    const [pastDue] = timers.ticks().filter((tick) => tick.pid === second.pid);
    expect(pastDue?.isPastDue).toBe(true);
    expect(ms(pastDue?.startedAt ?? '') - startedAt).toBeLessThan(1500);
    // Last is when the first host last ran; Next the occurrence after it, which nobody ran.
    expect(ms(pastDue?.scheduleStatus?.last ?? '') - ms(lastRun?.scheduleStatus?.next ?? '')).toBeLessThan(1000);
    expect(ms(pastDue?.scheduleStatus?.next ?? '')).toBe(missed);
    expect(missed).toBeLessThan(startedAt);
    expect(
      timers.logs.some((entry) => entry.pid === second.pid && entry.msg === "Function 'tick' is past due on startup. Executing now."),
    ).toBe(true);
  }, 90_000);

  it('refuses to start a timer app whose schedule setting is not NCRONTAB, naming the setting', async () => {
    await expect(
      startFunctionsHost({
        appEntry: APP,
        hostJsonPath,
        appSettings: { AzureWebJobsStorage: cloud.stack.azure.connectionString, TICK_SCHEDULE: '*/5 * * * *' },
        log: () => undefined,
      }),
    ).rejects.toThrow(/timer function tick \(app setting TICK_SCHEDULE\) is .*NCRONTAB needs six fields .*got 5/);
  });

  it('refuses to start a timer app without the host storage, naming AzureWebJobsStorage', async () => {
    await expect(
      startFunctionsHost({ appEntry: APP, hostJsonPath, appSettings: { TICK_SCHEDULE: '0 * * * * *' }, log: () => undefined }),
    ).rejects.toThrow(/AzureWebJobsStorage/);
  });
});
