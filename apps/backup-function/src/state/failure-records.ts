import type { ContainerClient } from '@azure/storage-blob';
import { type FailureRecord, failureRecordName, failureRecordSchema, FAILURES_PREFIX } from '@blobferry/contract';
import { ListedNames, listNames } from './listed-names.js';
import { getJson, putJson } from './state-blobs.js';

export interface FailureRecordsOptions {
  container: ContainerClient;
  /** How stale this instance's view of the records other instances wrote may be. */
  listingMaxAgeMs: number;
  now?: () => Date;
}

/** A permanent failure that could not be recorded: the message is tried again, so the decision is not lost. */
export class FailureRecordError extends Error {
  override name = 'FailureRecordError';
}

/** What a permanent failure records; the times are the store's. */
export type FailureEntry = Omit<FailureRecord, 'firstSeen' | 'lastSeen'>;

type BlobName = Pick<FailureRecord, 'account' | 'container' | 'blobName'>;

/**
 * The permanent failures, one record per blob (`failures/<account>/<container>/<hash>.json`), where health,
 * the sweep's report and verify find them. A later successful copy of the blob removes its record; finding it
 * costs no request per success (the listing is refreshed at most once per `listingMaxAgeMs`).
 */
export class FailureRecords {
  private readonly listed: ListedNames;
  private readonly now: () => Date;

  constructor(private readonly o: FailureRecordsOptions) {
    this.listed = new ListedNames({ container: o.container, prefix: FAILURES_PREFIX, maxAgeMs: o.listingMaxAgeMs });
    this.now = o.now ?? (() => new Date());
  }

  /** Records (or updates) the blob's failure; the first time it was seen stays. A failure to is a FailureRecordError. */
  async record(entry: FailureEntry): Promise<void> {
    const name = failureRecordName(entry);
    const seen = this.now().toISOString();
    try {
      const earlier = failureRecordSchema.safeParse(await getJson(this.o.container, name));
      const record: FailureRecord = { ...entry, firstSeen: earlier.success ? earlier.data.firstSeen : seen, lastSeen: seen };
      await putJson(this.o.container, name, failureRecordSchema.parse(record));
    } catch (error) {
      throw new FailureRecordError(`could not record the permanent failure in the state container: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.listed.add(name);
  }

  /** Removes the blob's record, if there is one: its backup now holds it. */
  async clear(blob: BlobName): Promise<boolean> {
    const name = failureRecordName(blob);
    if (!(await this.listed.has(name))) return false;
    await this.o.container.getBlobClient(name).deleteIfExists();
    this.listed.delete(name);
    return true;
  }

  /** How many blobs have a recorded permanent failure now. */
  async count(): Promise<number> {
    return (await listNames(this.o.container, FAILURES_PREFIX)).length;
  }
}
