import type { ContainerClient } from '@azure/storage-blob';
import type { CronSchedule } from './ncrontab.js';

// The timer trigger's schedule monitor (WebJobs StorageScheduleMonitor): a timer's last and next
// occurrence kept in the blob `timers/<hostId>/<timer name>/status` of the host storage, as JSON
// `{"Last","Next","LastUpdated"}`, so that a host starting after a missed occurrence runs it at once
// with isPastDue, whichever instance missed it.

export interface ScheduleStatus {
  last: Date;
  next: Date;
  lastUpdated: Date;
}

/** .NET's DateTime.MinValue, what the runtime records for an occurrence that never happened. */
export const NEVER = new Date('0001-01-01T00:00:00Z');
const isNever = (date: Date) => date.getTime() <= 0;

/** What a timer function receives (the runtime's TimerInfo, camel-cased by @azure/functions). */
export interface TimerInfo {
  schedule: { adjustForDST: boolean };
  /** Null when the schedule is not monitored. */
  scheduleStatus: { last: string; next: string; lastUpdated: string } | null;
  isPastDue: boolean;
}

const iso = (date: Date) => (isNever(date) ? '0001-01-01T00:00:00' : date.toISOString());

export function statusForTimerInfo(status: ScheduleStatus): NonNullable<TimerInfo['scheduleStatus']> {
  return { last: iso(status.last), next: iso(status.next), lastUpdated: iso(status.lastUpdated) };
}

export interface ScheduleMonitor {
  /** The recorded status, or undefined when none was ever written. */
  read(): Promise<ScheduleStatus | undefined>;
  /** Best effort, as the runtime's: a failure is logged, never thrown. */
  write(status: ScheduleStatus): Promise<void>;
}

export function blobScheduleMonitor(o: {
  container: ContainerClient;
  hostId: string;
  timerName: string;
  log(entry: Record<string, unknown>): void;
}): ScheduleMonitor {
  const blob = o.container.getBlockBlobClient(`timers/${o.hostId}/${o.timerName}/status`);
  const parseDate = (value: unknown) =>
    typeof value === 'string' ? new Date(value.endsWith('Z') || /[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`) : NEVER;
  return {
    async read() {
      let text: string;
      try {
        text = (await blob.downloadToBuffer()).toString('utf8');
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) return undefined;
        throw error;
      }
      const recorded = JSON.parse(text) as { Last?: unknown; Next?: unknown; LastUpdated?: unknown };
      return { last: parseDate(recorded.Last), next: parseDate(recorded.Next), lastUpdated: parseDate(recorded.LastUpdated) };
    },
    async write(status) {
      const text = JSON.stringify({ Last: iso(status.last), Next: iso(status.next), LastUpdated: iso(status.lastUpdated) });
      try {
        await o.container.createIfNotExists();
        await blob.upload(text, Buffer.byteLength(text), { blobHTTPHeaders: { blobContentType: 'application/json' } });
      } catch (error) {
        o.log({
          source: 'host',
          level: 'error',
          msg: `Function '${o.timerName}' failed to update the timer trigger status.`,
          error: (error as Error).message,
        });
      }
    },
  };
}

/**
 * The runtime's CheckPastDueAsync, run when a timer listener starts: how long ago the recorded next
 * occurrence passed (0 when it has not). A schedule changed since the status was recorded is re-based
 * on it first, so that a new schedule never counts as past due; the first start records a status.
 */
export async function checkPastDue(
  monitor: ScheduleMonitor,
  o: { now: Date; schedule: CronSchedule; recorded: ScheduleStatus | undefined },
): Promise<{ status: ScheduleStatus; pastDueMs: number }> {
  const { now, schedule } = o;
  let status = o.recorded;
  if (!status) {
    status = { last: NEVER, next: schedule.nextAfter(now), lastUpdated: now };
    await monitor.write(status);
  } else {
    const basis = !isNever(status.last) ? status.last : !isNever(status.lastUpdated) ? status.lastUpdated : now;
    let expectedNext = schedule.nextAfter(basis);
    let lastUpdated = basis;
    if (status.next.getTime() !== expectedNext.getTime()) {
      if (now > expectedNext) {
        expectedNext = schedule.nextAfter(now);
        lastUpdated = now;
      }
      status = { last: NEVER, next: expectedNext, lastUpdated };
      await monitor.write(status);
    }
  }
  return { status, pastDueMs: Math.max(0, now.getTime() - status.next.getTime()) };
}
