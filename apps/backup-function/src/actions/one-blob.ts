import type { ValidBlobEvent } from '../validate-event.js';
import { type ActionDeps, type ActionResult, COPY_PROVES, DELETE_PROVES } from './action-result.js';
import { copyBlob } from './copy-blob.js';
import { hideBackup } from './delete-policy.js';

/**
 * BlobCreated, and BlobTierChanged: the blob is copied again, and libs/transfer's judge decides what its
 * backup lacks (for a new tier, its record and storage class: no bytes are copied for a property change).
 */
export async function backUpBlob(event: ValidBlobEvent, deps: ActionDeps): Promise<ActionResult> {
  const copy = await copyBlob(event.blob, deps, { sequencer: event.sequencer, lengthHint: event.contentLength });
  const details: Record<string, unknown> = { sourceEtag: copy.sourceEtag };
  // The copy reads the blob's own properties, so a wrong contentLength in the event cannot truncate or pad
  // the backup; the difference is still worth a warning (a lying publisher or an overwrite since the event).
  const mismatch = copy.outcome === 'copied' && event.contentLength !== undefined && event.contentLength !== copy.bytes;
  if (mismatch) details.contentLengthMismatch = { event: event.contentLength, blob: copy.bytes };
  return {
    outcome: copy.outcome,
    key: copy.key,
    bytes: copy.bytes,
    parts: copy.parts,
    details,
    warn: mismatch,
    proven: COPY_PROVES,
    backedUp: [event.blob],
  };
}

/**
 * BlobDeleted: `retain` keeps every backup; `delete-marker` hides it (hideBackup), with the event's sequencer
 * and time as the delete's place in the blob's history.
 */
export async function applyDeletePolicy(event: ValidBlobEvent, deps: ActionDeps): Promise<ActionResult> {
  if (deps.config.DELETE_POLICY === 'retain') return { outcome: 'delete-retained', details: {}, warn: false, proven: [], backedUp: [] };
  const { key, outcome } = await hideBackup(event.blob, event, deps);
  return { outcome, ...(key ? { key } : {}), details: {}, warn: false, proven: DELETE_PROVES, backedUp: [] };
}
