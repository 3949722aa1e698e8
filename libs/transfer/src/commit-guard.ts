import { isConditionalWriteConflict } from './classify.js';
import type { CopyContext, CopyResult } from './copy-context.js';
import { TargetChangedError } from './errors.js';
import { settleTarget } from './property-update.js';
import { explainRejection } from './s3-endpoint.js';
import { headTarget } from './target.js';

// The ordering guard of a copy's commit: a newer copy that lands while this one streams is never overwritten.

type ConditionalHeaders = { IfMatch?: string; IfNoneMatch?: string };
/** The write's answer, or what the target as read again settled (newer, up to date, properties updated in place). */
export type CommitOutcome<T> = { written: T } | { settled: CopyResult };

/**
 * The ordering guard around the one request that makes content visible (PutObject or
 * CompleteMultipartUpload). Where the endpoint enforces conditional writes, the write is conditional on
 * the target being exactly what the first HeadObject saw (If-None-Match: * or If-Match: its ETag), or on
 * there being no object when the target was not read, so a newer copy that landed meanwhile makes it fail
 * with 412 and the target is judged again (settleTarget: newer, up to date, or only its properties differ). Where the
 * endpoint ignores the conditions, the target is re-read right before the write instead, which catches a
 * newer copy that landed while we streamed but leaves the gap between that read and the write open.
 */
export async function commitGuarded<T>(
  context: CopyContext,
  write: (conditions: ConditionalHeaders) => Promise<T>,
  body?: Buffer,
): Promise<CommitOutcome<T>> {
  const { s3, bucket, key, abortSignal, features } = context;
  if (!features.conditionalWrites) {
    const current = await headTarget({ s3, bucket, key, abortSignal });
    const settled = await settleTarget(context, current, body);
    if (settled) return { settled };
    try {
      return { written: await write({}) };
    } catch (error) {
      throw explainRejection(error, features, `s3://${bucket}/${key}`);
    }
  }
  // An unread target is assumed absent once; a 412 then reads it and the write is tried once more, on it.
  let seen = context.seen;
  for (let attempt = seen === undefined ? 2 : 1; ; attempt--) {
    const conditions: ConditionalHeaders = seen?.s3Etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: seen.s3Etag };
    try {
      return { written: await write(conditions) };
    } catch (error) {
      if (!isConditionalWriteConflict(error)) throw explainRejection(error, features, `s3://${bucket}/${key}`);
      seen = await headTarget({ s3, bucket, key, abortSignal });
      const settled = await settleTarget(context, seen, body);
      if (settled) return { settled };
      if (attempt <= 1) {
        throw new TargetChangedError(`s3://${bucket}/${key} was replaced by another writer during the copy; retry to re-evaluate`, {
          cause: error,
        });
      }
    }
  }
}
