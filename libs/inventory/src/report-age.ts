import { InventoryReportError } from './errors.js';

/** How old a report may be by default: a daily inventory, with a day's slack for a late or slow run. */
export const DEFAULT_MAX_REPORT_AGE_MS = 48 * 3600_000;

/** A duration in the unit that reads best: seconds, minutes, or hours to a tenth. */
function duration(ms: number): string {
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round((ms / 3600_000) * 10) / 10} h`;
}

/** Refuses a report that began longer than `maxAgeMs` ago: its differences would be a day or more out of date. */
export function checkReportAge(file: string, startedAt: Date, maxAgeMs: number, now: Date): void {
  const ageMs = now.getTime() - startedAt.getTime();
  if (ageMs <= maxAgeMs) return;
  throw new InventoryReportError(
    file,
    `is ${duration(ageMs)} old (started ${startedAt.toISOString()}), more than the ${duration(maxAgeMs)} allowed`,
    'Check that the inventory still runs daily, or allow older reports (--inventory-max-age / maxAgeMs).',
  );
}

/** A manifest's checksum file holds the MD5 of the manifest's bytes; accepted as hex or base64. */
export function checksumMatches(checksumText: string, md5: Buffer): boolean {
  const stated = checksumText.trim().replace(/^"|"$/g, '');
  return stated.toLowerCase() === md5.toString('hex') || stated === md5.toString('base64');
}
