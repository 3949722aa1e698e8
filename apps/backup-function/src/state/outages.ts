import type { ContainerClient } from '@azure/storage-blob';
import {
  DEPENDENCIES,
  type Dependency,
  endedOutageRecordName,
  endedOutageRecordSchema,
  OUTAGES_PREFIX,
  outageRecordName,
  outageRecordSchema,
} from '@blobferry/contract';
import type { OutageWindow } from '@blobferry/sweep';
import { ListedNames } from './listed-names.js';
import { getJson, isStatus, putJson } from './state-blobs.js';

export type DependencyStatus = { failing: false } | { failing: true; since: string; firstError: string };

export interface OutagesOptions {
  container: ContainerClient;
  /** How stale this instance's view of the other instances' records may be. */
  listingMaxAgeMs: number;
  now?: () => Date;
}

/**
 * Which dependency has been failing since when, shared by every instance: `outages/<dependency>.json`, written
 * (if absent) at the first failure and removed at the first success after it. A success costs no request
 * unless a record is there (the listing is refreshed at most once per `listingMaxAgeMs`).
 */
export class Outages {
  private readonly listed: ListedNames;
  private readonly now: () => Date;

  constructor(private readonly o: OutagesOptions) {
    this.listed = new ListedNames({ container: o.container, prefix: OUTAGES_PREFIX, maxAgeMs: o.listingMaxAgeMs });
    this.now = o.now ?? (() => new Date());
  }

  /** Records that `dependency` failed, unless a record of this outage exists: the first failure's time stays. */
  async failing(dependency: Dependency, firstError: string): Promise<void> {
    const name = outageRecordName(dependency);
    if (await this.listed.has(name)) return;
    const record = outageRecordSchema.parse({ dependency, since: this.now().toISOString(), firstError });
    try {
      await putJson(this.o.container, name, record, { ifNoneMatch: '*' });
    } catch (error) {
      // Another instance recorded this outage first: its time stands.
      if (!isStatus(error, 409, 412)) throw error;
    }
    this.listed.add(name);
  }

  /** Ends the outages of these dependencies, which just served a request. */
  async working(dependencies: readonly Dependency[]): Promise<void> {
    for (const dependency of dependencies) {
      const name = outageRecordName(dependency);
      if (!(await this.listed.has(name))) continue;
      const stored = await getJson(this.o.container, name);
      if (stored !== undefined) {
        const ended = endedOutageRecordSchema.parse({ ...outageRecordSchema.parse(stored), endedAt: this.now().toISOString() });
        await putJson(this.o.container, endedOutageRecordName(dependency), ended);
      }
      await this.o.container.getBlobClient(name).deleteIfExists();
      this.listed.delete(name);
    }
  }

  /** Every dependency's state, read now. */
  async report(): Promise<Record<Dependency, DependencyStatus>> {
    const entries = await Promise.all(
      DEPENDENCIES.map(async (dependency): Promise<[Dependency, DependencyStatus]> => {
        const stored = await getJson(this.o.container, outageRecordName(dependency));
        if (stored === undefined) return [dependency, { failing: false }];
        const record = outageRecordSchema.parse(stored);
        return [dependency, { failing: true, since: record.since, firstError: record.firstError }];
      }),
    );
    return Object.fromEntries(entries) as Record<Dependency, DependencyStatus>;
  }

  /**
   * Each dependency's current outage (until now) and last ended one (until its end plus `retryTailMs`, the
   * longest retry delay: a blob written during it may be copied that long after), for the sweep's missed-events
   * count.
   */
  async windows(retryTailMs: number): Promise<OutageWindow[]> {
    const now = this.now();
    const current = await this.report();
    const windows = await Promise.all(
      DEPENDENCIES.map(async (dependency) => {
        const found: OutageWindow[] = [];
        const status = current[dependency];
        if (status.failing) found.push({ from: new Date(status.since), to: now });
        const ended = await getJson(this.o.container, endedOutageRecordName(dependency));
        if (ended !== undefined) {
          const record = endedOutageRecordSchema.parse(ended);
          found.push({ from: new Date(record.since), to: new Date(Date.parse(record.endedAt) + retryTailMs) });
        }
        return found;
      }),
    );
    return windows.flat();
  }
}
