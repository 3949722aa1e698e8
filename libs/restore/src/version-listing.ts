import { ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';

/** One entry of a key's history in a versioned bucket: a version, or a delete marker. */
export interface HistoryEntry {
  kind: 'version' | 'deleteMarker';
  versionId: string;
  /** S3's time for the entry: when the version was written or the marker placed. */
  s3LastModified: Date;
  isLatest: boolean;
  /** Versions only. */
  size: number;
  etag: string | undefined;
  storageClass: string | undefined;
}

/** A key's entries, newest first. */
export interface KeyHistory {
  key: string;
  entries: HistoryEntry[];
}

export interface ListHistoriesOptions {
  s3: S3Client;
  bucket: string;
  /** Lists keys starting with this. */
  prefix: string;
  /** Only this exact key (`prefix` is then the key itself, which also matches `key.bak`). */
  exactKey?: string | undefined;
  /** Entries per ListObjectVersions page (S3's default and maximum: 1,000). */
  pageSize?: number;
  abortSignal?: AbortSignal;
  /** Each page as it is read (its versions and delete markers), for progress. */
  onPage?: (page: { versions: number; deleteMarkers: number }) => void;
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/**
 * Every key's history under a prefix, one key at a time in S3's key order, read through ListObjectVersions page
 * by page. A page may hold only delete markers (a folder deleted under DELETE_POLICY=delete-marker): the scan goes
 * on while S3 says the listing is truncated, whatever a page held, and a key whose entries span pages is yielded
 * once, whole.
 */
export async function* listKeyHistories(options: ListHistoriesOptions): AsyncGenerator<KeyHistory> {
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  let pending: KeyHistory | undefined;
  for (;;) {
    const page = await options.s3.send(
      new ListObjectVersionsCommand({
        Bucket: options.bucket,
        Prefix: options.prefix,
        ...(options.pageSize ? { MaxKeys: options.pageSize } : {}),
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(versionIdMarker !== undefined ? { VersionIdMarker: versionIdMarker } : {}),
      }),
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
    const entries: Array<HistoryEntry & { key: string }> = [
      ...(page.Versions ?? []).map((version) => ({
        key: version.Key ?? '',
        kind: 'version' as const,
        versionId: version.VersionId ?? 'null',
        s3LastModified: version.LastModified ?? new Date(0),
        isLatest: version.IsLatest === true,
        size: version.Size ?? 0,
        etag: version.ETag,
        storageClass: version.StorageClass,
      })),
      ...(page.DeleteMarkers ?? []).map((marker) => ({
        key: marker.Key ?? '',
        kind: 'deleteMarker' as const,
        versionId: marker.VersionId ?? 'null',
        s3LastModified: marker.LastModified ?? new Date(0),
        isLatest: marker.IsLatest === true,
        size: 0,
        etag: undefined,
        storageClass: undefined,
      })),
    ];
    // S3 returns versions and markers in two lists: one order again, by key, then newest first.
    entries.sort(
      (a, b) =>
        byteOrder(a.key, b.key) || Number(b.isLatest) - Number(a.isLatest) || b.s3LastModified.getTime() - a.s3LastModified.getTime(),
    );
    options.onPage?.({ versions: page.Versions?.length ?? 0, deleteMarkers: page.DeleteMarkers?.length ?? 0 });
    for (const { key, ...entry } of entries) {
      if (options.exactKey !== undefined && key !== options.exactKey) continue;
      if (pending && pending.key !== key) {
        yield pending;
        pending = undefined;
      }
      pending ??= { key, entries: [] };
      pending.entries.push(entry);
    }
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
    if (keyMarker === undefined) throw new Error('ListObjectVersions said it was truncated but gave no NextKeyMarker');
  }
  if (pending) yield pending;
}
