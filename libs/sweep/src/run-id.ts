import { CronExpressionParser } from 'cron-parser';

/**
 * The run a timer firing at `now` belongs to: the schedule's latest occurrence at or before it (UTC, as the
 * Functions runtime schedules). Every instance that fires for one occurrence names the run alike, so only
 * one of them plans it (planSweep); one that fires late (isPastDue) names the occurrence it serves.
 */
export function sweepRunId(schedule: string, now: Date = new Date()): string {
  // A second of slack: the runtime may fire a little before the occurrence's exact time.
  const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(now.getTime() + 1000), tz: 'UTC' });
  return expression.prev().toISOString() ?? now.toISOString();
}
