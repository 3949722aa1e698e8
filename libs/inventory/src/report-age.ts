import { InventoryReportError } from './errors.js';

/** How old a report may be by default: a daily inventory, with a day's slack for a late or slow run. */
export const DEFAULT_MAX_REPORT_AGE_MS = 48 * 3600_000;

/** Refuses a report that began longer than `maxAgeMs` ago: its differences would be a day or more out of date. */
export function checkReportAge(file: string, startedAt: Date, maxAgeMs: number, now: Date): void {
  const ageMs = now.getTime() - startedAt.getTime();
  if (ageMs <= maxAgeMs) return;
  const hours = (ms: number) => `${Math.round((ms / 3600_000) * 10) / 10} h`;
  throw new InventoryReportError(
    file,
    `is ${hours(ageMs)} old (started ${startedAt.toISOString()}), more than the ${hours(maxAgeMs)} allowed`,
    'Check that the inventory still runs daily, or allow older reports (--inventory-max-age / maxAgeMs).',
  );
}

/** A manifest's checksum file holds the MD5 of the manifest's bytes; accepted as hex or base64. */
export function checksumMatches(checksumText: string, md5: Buffer): boolean {
  const stated = checksumText.trim().replace(/^"|"$/g, '');
  return stated.toLowerCase() === md5.toString('hex') || stated === md5.toString('base64');
}
