import type { CronSchedule } from './ncrontab.js';
import { checkPastDue, NEVER, statusForTimerInfo, type ScheduleMonitor, type ScheduleStatus, type TimerInfo } from './schedule-monitor.js';

// A timer trigger's schedule as the runtime keeps it (WebJobs TimerListener):
// - one invocation at a time: the next timer is armed only once an invocation has ended, so an
//   occurrence that passes while the function runs is not queued up: the function runs again at once
//   when it ends (once, however many occurrences passed), and the schedule goes on from there;
// - the next occurrence is computed from the invocation's start (its scheduled time, when the timer fired
//   a little early), and recorded by the schedule monitor when there is one;
// - on start, a monitored schedule whose recorded next occurrence has passed (no host ran it) is run at
//   once with isPastDue; else `runOnStartup` runs it at once; else the timer waits for the next occurrence;
// - a failed invocation is not retried: the function runs again at its next occurrence.

/** setTimeout takes at most 2^31-1 ms; longer waits are chained, as the runtime chains its 24-day timers. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const NEXT_OCCURRENCES_LOGGED = 5;

export interface TimerListenerOptions {
  /** The function's name, as the runtime names it in timer logs. */
  functionName: string;
  schedule: CronSchedule;
  runOnStartup: boolean;
  /** Present when the schedule is monitored (useMonitor). */
  monitor: ScheduleMonitor | undefined;
  /** Runs the function; a rejection is a failed invocation, which the listener logs and outlives. */
  invoke(timer: TimerInfo, firedAt: Date): Promise<void>;
  log(entry: Record<string, unknown>): void;
}

export interface TimerListener {
  /** Stops the timer and waits for a running invocation. */
  stop(): Promise<void>;
}

/** `MM/dd/yyyy HH:mm:ssZ`, the runtime's format for the occurrences it lists at start. */
function formatOccurrence(date: Date): string {
  const [datePart = '', timePart = ''] = date.toISOString().split('T');
  const [year, month, day] = datePart.split('-');
  return `${month}/${day}/${year} ${timePart.slice(0, 8)}Z`;
}

export async function startTimerListener(o: TimerListenerOptions): Promise<TimerListener> {
  const { schedule, monitor, log } = o;
  const entry = (level: string, msg: string, fields: Record<string, unknown> = {}) =>
    log({ source: 'host', level, functionName: o.functionName, msg, ...fields });
  const now = new Date();

  let status: ScheduleStatus | undefined;
  let pastDue = false;
  if (monitor) {
    const recorded = await monitor.read();
    entry(
      'debug',
      `Function '${o.functionName}' initial status: Last='${recorded ? recorded.last.toISOString() : ''}', Next='${recorded ? recorded.next.toISOString() : ''}', LastUpdated='${recorded ? recorded.lastUpdated.toISOString() : ''}'`,
    );
    const checked = await checkPastDue(monitor, { now, schedule, recorded });
    status = checked.status;
    pastDue = checked.pastDueMs > 0;
  }
  let current: ScheduleStatus = status ?? { last: NEVER, next: schedule.nextAfter(now), lastUpdated: NEVER };

  const occurrences: Date[] = [];
  for (let after = now; occurrences.length < NEXT_OCCURRENCES_LOGGED; after = occurrences.at(-1) as Date) {
    occurrences.push(schedule.nextAfter(after));
  }
  entry(
    'information',
    `The next ${NEXT_OCCURRENCES_LOGGED} occurrences of the '${o.functionName}' schedule (${schedule.toString()}) will be:\n${occurrences.map(formatOccurrence).join('\n')}`,
  );

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function invokeOnce(firedAt: Date, reason: { isPastDue?: boolean; runOnStartup?: boolean }): Promise<void> {
    if (stopped) return;
    const timerInfo: TimerInfo = {
      schedule: { adjustForDST: true },
      scheduleStatus: monitor ? statusForTimerInfo(current) : null,
      isPastDue: reason.isPastDue === true,
    };
    try {
      await o.invoke(timerInfo, firedAt);
    } catch {
      // A failed invocation was logged by the invoker; the schedule goes on.
    }
    // A timer that fired a little before its occurrence counts as that occurrence, so `next` moves on.
    const scheduledAt = !reason.isPastDue && !reason.runOnStartup && current.next.getTime() > firedAt.getTime() ? current.next : firedAt;
    current = { last: scheduledAt, next: schedule.nextAfter(scheduledAt), lastUpdated: scheduledAt };
    if (monitor) await monitor.write(current);
  }

  function arm(delayMs: number, onFire: () => Promise<void>): void {
    if (stopped) return;
    const wait = Math.max(1, delayMs);
    timer = setTimeout(
      () => {
        if (wait > MAX_TIMER_MS) {
          arm(wait - MAX_TIMER_MS, onFire);
          return;
        }
        running = onFire().finally(() => arm(current.next.getTime() - Date.now(), scheduled));
      },
      Math.min(wait, MAX_TIMER_MS),
    );
  }
  const scheduled = () => invokeOnce(new Date(), {});

  if (pastDue) {
    const originalSchedule = current.next;
    arm(1, () => {
      entry('information', `Function '${o.functionName}' is past due on startup. Executing now.`, {
        originalSchedule: originalSchedule.toISOString(),
      });
      return invokeOnce(new Date(), { isPastDue: true });
    });
  } else if (o.runOnStartup) {
    arm(1, () => {
      entry('information', `Function '${o.functionName}' is configured to run on startup. Executing now.`);
      return invokeOnce(new Date(), { runOnStartup: true });
    });
  } else {
    arm(current.next.getTime() - Date.now(), scheduled);
  }

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
