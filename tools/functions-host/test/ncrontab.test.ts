import { describe, expect, it } from 'vitest';
import { hostIdOf } from '../src/host-id.js';
import { cronSchedule, monitorsByDefault } from '../src/ncrontab.js';

const utc = { timeZone: 'UTC', functionName: 'sweep' };

describe('NCRONTAB schedules', () => {
  it('reads six fields, seconds first, in UTC', () => {
    const schedule = cronSchedule('30 */5 * * * *', utc);
    expect(schedule.nextAfter(new Date('2026-03-01T10:02:00Z')).toISOString()).toBe('2026-03-01T10:05:30.000Z');
    // Strictly after: an occurrence is not its own next one.
    expect(schedule.nextAfter(new Date('2026-03-01T10:05:30Z')).toISOString()).toBe('2026-03-01T10:10:30.000Z');
    expect(schedule.toString()).toBe("Cron: '30 */5 * * * *'");
  });

  it('takes day and month names, full or abbreviated, in any case', () => {
    const schedule = cronSchedule('0 30 9 * January Monday', utc);
    expect(schedule.nextAfter(new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2026-01-05T09:30:00.000Z');
    expect(cronSchedule('0 30 9 * jan MON', utc).nextAfter(new Date('2026-01-01T00:00:00Z')).toISOString()).toBe(
      '2026-01-05T09:30:00.000Z',
    );
  });

  it('reads the fields in WEBSITE_TIME_ZONE when one is set', () => {
    const paris = cronSchedule('0 0 9 * * *', { timeZone: 'Europe/Paris', functionName: 'sweep' });
    expect(paris.nextAfter(new Date('2026-07-01T00:00:00Z')).toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(paris.nextAfter(new Date('2026-12-01T00:00:00Z')).toISOString()).toBe('2026-12-01T08:00:00.000Z');
  });

  it('refuses five fields, a bad field and an unknown time zone, naming the function or the setting', () => {
    expect(() => cronSchedule('*/5 * * * *', utc)).toThrow(/timer function sweep .*six fields .*got 5/);
    expect(() => cronSchedule('0 61 * * * *', utc)).toThrow(/timer function sweep .*not valid NCRONTAB/);
    expect(() => cronSchedule('every 6 hours', { ...utc, setting: 'SWEEP_SCHEDULE' })).toThrow(
      /^the schedule of timer function sweep \(app setting SWEEP_SCHEDULE\) is "every 6 hours": NCRONTAB needs six fields/,
    );
    expect(() => cronSchedule('0 0 9 * * *', { timeZone: 'Eastern Standard Time', functionName: 'sweep' })).toThrow(
      /WEBSITE_TIME_ZONE is "Eastern Standard Time"/,
    );
  });

  it('is monitored by default when its occurrences are at least a minute apart', () => {
    const now = new Date('2026-03-01T10:00:00Z');
    expect(monitorsByDefault(cronSchedule('0 */2 * * * *', utc), now)).toBe(true);
    expect(monitorsByDefault(cronSchedule('0 * * * * *', utc), now)).toBe(true);
    expect(monitorsByDefault(cronSchedule('*/30 * * * * *', utc), now)).toBe(false);
  });
});

describe('the host id', () => {
  it('is AzureFunctionsWebHost__hostid, else the site name as the runtime shortens it, else one per app folder', () => {
    expect(hostIdOf({ AzureFunctionsWebHost__hostid: 'my-app' }, '/apps/a/index.js')).toBe('my-app');
    expect(hostIdOf({ WEBSITE_SITE_NAME: 'Prod-BlobFerry-Function-App-Westeurope-1' }, '/apps/a/index.js')).toBe(
      'prod-blobferry-function-app-west',
    );
    expect(hostIdOf({}, '/apps/a/index.js')).toBe(hostIdOf({}, '/apps/a/other.js'));
    expect(hostIdOf({}, '/apps/a/index.js')).not.toBe(hostIdOf({}, '/apps/b/index.js'));
    expect(hostIdOf({}, '/apps/a/index.js')).toMatch(/^[a-z0-9-]{1,32}$/);
    expect(() => hostIdOf({ AzureFunctionsWebHost__hostid: 'My_App' }, '/apps/a/index.js')).toThrow(/AzureFunctionsWebHost__hostid/);
  });
});
