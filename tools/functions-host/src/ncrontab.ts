import { CronExpressionParser } from 'cron-parser';

// A timer trigger's schedule as the Functions runtime reads it (NCrontab with seconds): six fields,
// `{second} {minute} {hour} {day} {month} {day-of-week}`, day and month names in English (full or
// abbreviated, any case), evaluated in UTC unless the app setting WEBSITE_TIME_ZONE names another zone.

export interface CronSchedule {
  expression: string;
  /** IANA zone the fields are read in. */
  timeZone: string;
  /** The first occurrence strictly after `after`. */
  nextAfter(after: Date): Date;
  /** `Cron: '<expression>'`, as the runtime names a schedule in its logs. */
  toString(): string;
}

const NAMES = [
  'sunday',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'january',
  'february',
  'march',
  'april',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/** NCrontab takes full names; the parser takes their three-letter abbreviations. */
function abbreviateNames(expression: string): string {
  return expression.replace(/[a-z]+/gi, (word) => (NAMES.includes(word.toLowerCase()) ? word.slice(0, 3) : word));
}

function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new Error(
      `app setting WEBSITE_TIME_ZONE is "${timeZone}", which is not a time zone name this host knows (use an IANA name such as "Europe/Paris", as Linux plans do)`,
    );
  }
}

export interface CronScheduleOptions {
  timeZone: string;
  /** Names the schedule in errors, with `setting`, the app setting it came from (`%SETTING%`), if any. */
  functionName: string;
  setting?: string;
}

/** Parses a six-field NCRONTAB schedule. */
export function cronSchedule(expression: string, o: CronScheduleOptions): CronSchedule {
  const subject = `the schedule of timer function ${o.functionName}${o.setting ? ` (app setting ${o.setting})` : ''}`;
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `${subject} is "${expression}": NCRONTAB needs six fields "{second} {minute} {hour} {day} {month} {day-of-week}" (got ${fields.length})`,
    );
  }
  checkTimeZone(o.timeZone);
  const parsable = abbreviateNames(fields.join(' '));
  const parse = (currentDate: Date) => CronExpressionParser.parse(parsable, { currentDate, tz: o.timeZone });
  try {
    parse(new Date());
  } catch (error) {
    throw new Error(`${subject} is "${expression}", which is not valid NCRONTAB: ${(error as Error).message}`);
  }
  return {
    expression,
    timeZone: o.timeZone,
    nextAfter: (after) => parse(after).next().toDate(),
    toString: () => `Cron: '${expression}'`,
  };
}

/**
 * Whether the runtime monitors the schedule when the function does not say (`useMonitor`): yes when
 * occurrences are at least a minute apart, no for schedules that fire more than once a minute.
 */
export function monitorsByDefault(schedule: CronSchedule, now: Date): boolean {
  const first = schedule.nextAfter(now);
  const second = schedule.nextAfter(first);
  return second.getTime() - first.getTime() >= 60_000;
}
