import { backupKeyFor, copyBlobToS3, type CopyResult } from '@blobferry/transfer';
import type { BlobRef } from '../validate-event.js';
import type { ActionDeps } from './action-result.js';

export interface CopyBlobOptions {
  /** The event's sequencer, when it is one for this blob name. */
  sequencer?: string | undefined;
  /** The size the event announced. */
  lengthHint?: number | undefined;
}

/** Copies the blob's current version to its key with libs/transfer (idempotent, order-safe). */
export async function copyBlob(blob: BlobRef, deps: ActionDeps, o: CopyBlobOptions = {}): Promise<CopyResult> {
  const { config, clients } = deps;
  const key = backupKeyFor(blob, { prefix: config.BACKUP_PREFIX, layout: config.KEY_LAYOUT });
  return copyBlobToS3({
    source: {
      blob: clients.blobClientFor(blob),
      ...(o.sequencer ? { sequencer: o.sequencer } : {}),
      ...(o.lengthHint !== undefined ? { lengthHint: o.lengthHint } : {}),
    },
    target: {
      s3: clients.s3,
      bucket: config.BACKUP_BUCKET,
      key,
      // Properties sidecars go under the prefix too, where a role confined to it (BucketPrefix) may write.
      prefix: config.BACKUP_PREFIX,
      features: { checksum: config.S3_CHECKSUM, conditionalWrites: config.S3_CONDITIONAL_WRITES },
    },
    partSize: config.PART_SIZE,
    concurrency: config.CONCURRENCY,
    // The storage class each access tier is kept in; a tier change moves it without copying bytes.
    storageClassByTier: config.STORAGE_CLASS_BY_TIER,
  });
}
