import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { backupKeyFor, deleteBackup, KeyTooLongError, type DeleteBackupOutcome } from '@blobferry/transfer';
import type { BlobRef } from '../validate-event.js';
import type { ActionDeps, DeleteOutcome } from './action-result.js';

/** The delete being applied: deliveries arrive out of order, so a backup newer than it is kept. */
export interface DeleteEvent {
  sequencer?: string | undefined;
  eventTime?: string | undefined;
}

const DELETE_OUTCOMES = {
  'nothing-to-hide': 'delete-nothing-to-hide',
  stale: 'delete-stale',
  // Without `ifMatch`, a conflict at the delete itself is a newer backup landing: stale.
  changed: 'delete-stale',
  superseded: 'delete-superseded',
  'marker-written': 'delete-marker-written',
} as const satisfies Record<DeleteBackupOutcome, DeleteOutcome>;

/**
 * `delete-marker` (versioned bucket): hides the blob's backup behind a delete marker, the older versions stay,
 * under libs/transfer's rules for deletes (deleteBackup): never a backup newer than the delete, never one whose
 * blob exists again, never on a bucket whose versioning is not Enabled (an UnsafeDeleteError: retried).
 * Call it only under that policy (`retain` keeps every backup and asks nothing).
 */
export async function hideBackup(
  blob: BlobRef,
  deleteEvent: DeleteEvent,
  deps: ActionDeps,
): Promise<{ key?: string; outcome: DeleteOutcome }> {
  const { config, clients } = deps;
  let key: string;
  try {
    key = backupKeyFor(blob, { prefix: config.BACKUP_PREFIX, layout: config.KEY_LAYOUT });
  } catch (error) {
    // A name whose key S3 cannot store never had a backup.
    if (error instanceof KeyTooLongError) return { outcome: 'delete-nothing-to-hide' };
    throw error;
  }
  const outcome = await deleteBackup({
    s3: clients.s3,
    bucket: config.BACKUP_BUCKET,
    key,
    deleteEvent,
    // A blob written again after the delete has its own BlobCreated on the way: keep the backup.
    sourceExists: () => clients.blobClientFor(blob).exists(),
  });
  return { key, outcome: DELETE_OUTCOMES[outcome] };
}

/**
 * The blob names a directory's backups have: every key under `<directory>/`, and the directory's own key (a
 * directory listed through the blob endpoint is a blob, which a sweep may have backed up), as S3 lists them.
 */
export async function* backedUpNamesUnder(directory: BlobRef, deps: ActionDeps): AsyncGenerator<string> {
  const { config, clients } = deps;
  const root = backupKeyFor({ ...directory, blobName: '' }, { prefix: config.BACKUP_PREFIX, layout: config.KEY_LAYOUT });
  const prefix = `${root}${directory.blobName}`;
  const pages = paginateListObjectsV2({ client: clients.s3 }, { Bucket: config.BACKUP_BUCKET, Prefix: prefix });
  for await (const page of pages) {
    for (const object of page.Contents ?? []) {
      const name = object.Key?.slice(root.length);
      if (name === directory.blobName || name?.startsWith(`${directory.blobName}/`)) yield name;
    }
  }
}
