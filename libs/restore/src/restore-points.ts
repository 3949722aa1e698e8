import type { S3Client } from '@aws-sdk/client-s3';
import type { KeyMapping } from '@blobferry/transfer';
import { readRecordedVersion } from './recorded-version.js';
import { listKeyHistories } from './version-listing.js';

/** One entry of a blob's history in the backup: a version it can be restored to, or a delete. */
export interface RestorePoint {
  kind: 'version' | 'deleteMarker';
  versionId: string;
  /** When S3 got it (a delete: when the marker was placed). */
  s3LastModified: string;
  /** The blob's Last-Modified the version records: its time in the source's clock (versions only). */
  sourceLastModified: string | undefined;
  size: number;
  isLatest: boolean;
  storageClass: string | undefined;
}

export interface ListRestorePointsOptions {
  s3: S3Client;
  bucket: string;
  keys: KeyMapping;
  /** The blob's exact name. */
  name: string;
  abortSignal?: AbortSignal;
}

/** Every restore point of one blob, newest first (`blobferry restore --list-versions <name>`). */
export async function listRestorePoints(options: ListRestorePointsOptions): Promise<RestorePoint[]> {
  const key = options.keys.keyOf(options.name);
  const points: RestorePoint[] = [];
  for await (const history of listKeyHistories({
    s3: options.s3,
    bucket: options.bucket,
    prefix: key,
    exactKey: key,
    abortSignal: options.abortSignal,
  })) {
    for (const entry of history.entries) {
      const recorded =
        entry.kind === 'version'
          ? await readRecordedVersion({
              s3: options.s3,
              bucket: options.bucket,
              key,
              versionId: entry.versionId,
              abortSignal: options.abortSignal,
            })
          : undefined;
      points.push({
        kind: entry.kind,
        versionId: entry.versionId,
        s3LastModified: entry.s3LastModified.toISOString(),
        sourceLastModified: recorded?.sourceLastModified?.toISOString(),
        size: entry.size,
        isLatest: entry.isLatest,
        storageClass: entry.storageClass,
      });
    }
  }
  return points;
}
