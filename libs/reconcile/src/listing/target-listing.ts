import { ListObjectsV2Command, type _Object, type S3Client } from '@aws-sdk/client-s3';
import { prefetched } from './prefetch.js';

/** What ListObjectsV2 says of an object. */
export interface TargetObject {
  key: string;
  size: number;
  /** As listed, quotes removed. A multipart ETag ends in "-<parts>" and is not an MD5. */
  etag: string;
  lastModified: Date;
  /**
   * False when the service says the ETag is not the MD5 of the bytes whatever its shape (SSE-KMS, SSE-C), as an
   * inventory report does; a listing cannot tell, and then the shape decides (a multipart ETag ends in "-<parts>").
   */
  etagIsMd5?: boolean;
}

export interface TargetLocation {
  s3: S3Client;
  bucket: string;
}

function toTargetObject(item: _Object): TargetObject {
  return {
    key: item.Key ?? '',
    size: item.Size ?? 0,
    etag: (item.ETag ?? '').replaceAll('"', ''),
    lastModified: item.LastModified ?? new Date(0),
  };
}

async function* listPages(
  target: TargetLocation,
  prefix: string,
  startAfter: string | undefined,
  abortSignal?: AbortSignal,
): AsyncGenerator<TargetObject[]> {
  let continuationToken: string | undefined;
  do {
    const page = await target.s3.send(
      new ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, ContinuationToken: continuationToken, StartAfter: startAfter }),
      { abortSignal },
    );
    yield (page.Contents ?? []).map(toTargetObject);
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
}

/** Every object whose key starts with `prefix` (and sorts after `startAfter`), in S3's order (UTF-8 bytes), one page fetched ahead. */
export async function* listTargetObjects(
  target: TargetLocation,
  prefix: string,
  abortSignal?: AbortSignal,
  startAfter?: string,
): AsyncGenerator<TargetObject> {
  for await (const page of prefetched(listPages(target, prefix, startAfter, abortSignal))) yield* page;
}

/** One "/"-delimited level under `prefix`, or undefined when it is more than one page. */
export async function listTargetTopLevel(
  target: TargetLocation,
  prefix: string,
  abortSignal?: AbortSignal,
): Promise<{ objects: TargetObject[]; prefixes: string[] } | undefined> {
  const page = await target.s3.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: prefix, Delimiter: '/' }), { abortSignal });
  if (page.IsTruncated) return undefined;
  return {
    objects: (page.Contents ?? []).map(toTargetObject),
    prefixes: (page.CommonPrefixes ?? []).flatMap((common) => (common.Prefix ? [common.Prefix] : [])),
  };
}
