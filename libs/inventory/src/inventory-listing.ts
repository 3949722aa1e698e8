import type { S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { mapInOrder, type DifferenceKind, type ListingSource, type SourceBlob, type TargetObject } from '@blobferry/reconcile';
import type { KeyMapping } from '@blobferry/transfer';
import type { InventoryJoin, ReportDifference } from './join/inventory-join.js';
import { liveSourceBlob, liveTargetObject } from './live-evidence.js';

// The inventory join as a ListingSource of reconcile: one shard whose two sides are the names the reports do
// not prove in sync, in UTF-8 order, so that reconcile merges and classifies them with its one classification
// and repairs them as it repairs anything. A name whose report is older than its live state is read live on
// both sides instead (a blob written after the inventory is never repaired as missing on the report's word).
// Pairs in sync are counted through `settled`.

export interface InventoryListingOptions {
  join: InventoryJoin;
  /** The source container, for the live reads. */
  container: ContainerClient;
  target: { s3: S3Client; bucket: string };
  keys: KeyMapping;
  /** Live reads in flight at once (default 16). */
  concurrency?: number;
}

/** What the reports decided, and what had to be checked live. */
export interface InventoryChecks {
  /** Differences the reports alone decided, by kind (names older than the report excluded). */
  decided: Partial<Record<DifferenceKind, number>>;
  /** Names read live on both sides because a report is older than their live state. */
  reportOlderThanLive: number;
  /** Names only a HEAD settles (no two digests compare: multipart or SSE-KMS objects, blobs without Content-MD5). */
  needsHead: number;
}

export interface InventoryListing extends ListingSource {
  /** Once reconcile has run: what the reports decided and what was checked live. */
  checks(): InventoryChecks;
}

export function inventoryListing(options: InventoryListingOptions): InventoryListing {
  const { join, container, keys } = options;
  const { s3, bucket } = options.target;
  const window = (options.concurrency ?? 16) * 4;
  const checks: InventoryChecks = { decided: {}, reportOlderThanLive: 0, needsHead: 0 };

  function count(difference: ReportDifference): void {
    if (difference.reportOlderThanLive) checks.reportOlderThanLive += 1;
    else if (difference.verdict === 'needsHead') checks.needsHead += 1;
    else if (difference.verdict !== 'inSync') checks.decided[difference.verdict] = (checks.decided[difference.verdict] ?? 0) + 1;
  }

  return {
    checks: () => checks,
    settled: () => ({ inSync: join.counts.inSync, bytes: join.counts.inSyncBytes }),
    async shards(abortSignal) {
      async function* sources(): AsyncGenerator<SourceBlob> {
        const read = (difference: ReportDifference) => {
          count(difference);
          return difference.reportOlderThanLive
            ? liveSourceBlob(container, difference.name, abortSignal)
            : Promise.resolve(difference.source);
        };
        for await (const blob of mapInOrder(join.differences(), read, window)) if (blob) yield blob;
      }
      async function* targets(): AsyncGenerator<TargetObject> {
        const read = (difference: ReportDifference) =>
          difference.reportOlderThanLive
            ? liveTargetObject(s3, bucket, keys.root + difference.name, abortSignal)
            : Promise.resolve(difference.target);
        for await (const object of mapInOrder(join.differences(), read, window)) if (object) yield object;
      }
      return [{ label: `inventory ${join.azure.manifest} + ${join.s3.manifest}`, sources, targets }];
    },
  };
}
