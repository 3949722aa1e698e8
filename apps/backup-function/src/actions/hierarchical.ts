import type { BlobRef, ValidBlobEvent } from '../validate-event.js';
import {
  type ActionDeps,
  type ActionResult,
  COPY_PROVES,
  type CopyOutcome,
  DELETE_PROVES,
  type DeleteOutcome,
  tally,
} from './action-result.js';
import { copyBlob } from './copy-blob.js';
import { backedUpNamesUnder, type DeleteEvent, hideBackup } from './delete-policy.js';

// Hierarchical-namespace accounts (Data Lake Storage) rename blobs and directories, and delete directories,
// with one event each: the new names are copied, and the old ones follow DELETE_POLICY as a delete would.

/** Blobs of one directory event handled at once. */
const DIRECTORY_CONCURRENCY = 4;

export interface DirectoryActionDeps extends ActionDeps {
  /** Records the failure of a blob of a directory when it is permanent (then the other blobs go on): true. */
  recordIfPermanent(blob: BlobRef, error: unknown): Promise<boolean>;
}

/** The delete a rename or a directory delete stands for: its time only (its sequencer is the new name's). */
const deleteOf = (event: ValidBlobEvent): DeleteEvent => ({ eventTime: event.eventTime });

/**
 * BlobRenamed: the new name is copied (with the event's sequencer, which is the new name's), then the old
 * name's backup follows the delete policy. Either name may lie outside ALLOWED_SOURCES: it is left alone.
 */
export async function renameBlob(event: ValidBlobEvent, deps: ActionDeps): Promise<ActionResult> {
  const copy = event.allowed.blob ? await copyBlob(event.blob, deps, { sequencer: event.sequencer }) : undefined;
  const old = event.renamedFrom && event.allowed.renamedFrom ? await oldNameFollowsPolicy(event.renamedFrom, event, deps) : undefined;
  return {
    outcome: 'renamed',
    ...(copy ? { key: copy.key, bytes: copy.bytes, parts: copy.parts } : {}),
    details: {
      renamedFrom: event.renamedFrom?.url,
      copy: copy?.outcome ?? 'not-allowed',
      oldKey: old?.key,
      delete: old?.outcome ?? 'not-allowed',
    },
    warn: false,
    proven: copy ? COPY_PROVES : old?.outcome === 'delete-retained' ? [] : DELETE_PROVES,
    backedUp: copy ? [event.blob] : [],
  };
}

async function oldNameFollowsPolicy(
  blob: BlobRef,
  event: ValidBlobEvent,
  deps: ActionDeps,
): Promise<{ key?: string; outcome: DeleteOutcome }> {
  if (deps.config.DELETE_POLICY === 'retain') return { outcome: 'delete-retained' };
  return hideBackup(blob, deleteOf(event), deps);
}

/**
 * DirectoryRenamed: every blob of the new directory, as a listing finds it, is copied; then every backup under
 * the old directory follows the delete policy. A blob that fails for good is recorded and the others go on; a
 * transient failure fails the event, whose retry finds the copies done (the copy is idempotent).
 */
export async function renameDirectory(event: ValidBlobEvent, deps: DirectoryActionDeps): Promise<ActionResult> {
  const copies: Array<CopyOutcome | 'failed-permanent'> = [];
  const backedUp: BlobRef[] = [];
  if (event.allowed.blob) {
    const directory = event.blob;
    const container = deps.clients.blobServiceFor(directory.account, directory.accountUrl).getContainerClient(directory.container);
    const names = (async function* () {
      for await (const blob of container.listBlobsFlat({ prefix: `${directory.blobName}/` })) yield blob.name;
    })();
    await forEachBounded(names, async (blobName) => {
      const blob = blobIn(directory, blobName);
      try {
        copies.push((await copyBlob(blob, deps)).outcome);
        backedUp.push(blob);
      } catch (error) {
        if (!(await deps.recordIfPermanent(blob, error))) throw error;
        copies.push('failed-permanent');
      }
    });
  }
  const deletes = event.renamedFrom && event.allowed.renamedFrom ? await directoryFollowsPolicy(event.renamedFrom, event, deps) : undefined;
  return {
    outcome: 'directory-renamed',
    details: { renamedFrom: event.renamedFrom?.url, copies: tally(copies), deletes: deletes ?? 'not-allowed' },
    warn: copies.includes('failed-permanent'),
    proven: event.allowed.blob ? COPY_PROVES : DELETE_PROVES,
    backedUp,
  };
}

/** DirectoryDeleted (`recursive` or not: a non-recursive delete only succeeds on an empty directory). */
export async function deleteDirectory(event: ValidBlobEvent, deps: ActionDeps): Promise<ActionResult> {
  if (deps.config.DELETE_POLICY === 'retain') return { outcome: 'delete-retained', details: {}, warn: false, proven: [], backedUp: [] };
  return {
    outcome: 'directory-deleted',
    details: { deletes: await directoryFollowsPolicy(event.blob, event, deps) },
    warn: false,
    proven: DELETE_PROVES,
    backedUp: [],
  };
}

async function directoryFollowsPolicy(directory: BlobRef, event: ValidBlobEvent, deps: ActionDeps) {
  if (deps.config.DELETE_POLICY === 'retain') return tally(['delete-retained']);
  const outcomes: DeleteOutcome[] = [];
  await forEachBounded(backedUpNamesUnder(directory, deps), async (blobName) => {
    outcomes.push((await hideBackup(blobIn(directory, blobName), deleteOf(event), deps)).outcome);
  });
  return tally(outcomes);
}

/** A blob of the directory's container, by its full name. */
function blobIn(directory: BlobRef, blobName: string): BlobRef {
  const path = blobName.split('/').map(encodeURIComponent).join('/');
  return { ...directory, blobName, url: `${directory.accountUrl}/${directory.container}/${path}` };
}

/**
 * Runs `work` for each name, at most DIRECTORY_CONCURRENCY at once. The first failure stops new work; the
 * work in flight finishes, then the failure is thrown.
 */
async function forEachBounded(names: AsyncIterable<string>, work: (name: string) => Promise<void>): Promise<void> {
  const iterator = names[Symbol.asyncIterator]();
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure) {
      const next = await iterator.next();
      if (next.done) return;
      try {
        await work(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: DIRECTORY_CONCURRENCY }, worker));
  if (failure) throw failure.error;
}
