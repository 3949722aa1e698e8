import { ListObjectVersionsCommand, type ObjectVersion, type S3Client } from '@aws-sdk/client-s3';
import { readSidecar, sidecarKeyFor, type SidecarDocument } from '@blobferry/transfer';
import type { RecordedVersion } from './recorded-version.js';

// A backed-up version's properties sidecar: what did not fit on the object (metadata over S3's 2 KB, index
// tags S3 refuses), kept by libs/transfer at one key per object (`sidecarKeyFor`), versioned with the bucket.
// The sidecar is written right before the object that names it (`source-sidecar`), and records the source
// version (`sourceEtag`) whose properties it holds. So the one written with an object version is the newest
// sidecar version S3 got no later than that object version whose `sourceEtag` is the version's `source-etag`:
// Azure gives a blob a new ETag on every change of its content or metadata, so the metadata it holds is the
// version's exactly. Index tags change without a new ETag (Set Blob Tags): the sidecar's tags are those at
// the time the object version was written.

export interface ReadVersionSidecarOptions {
  s3: S3Client;
  bucket: string;
  /** The backup prefix the keys are under (`KeyMapping.prefix`), where sidecars live. */
  prefix: string;
  version: Pick<RecordedVersion, 'key' | 'sourceEtag' | 's3LastModified'>;
  abortSignal?: AbortSignal | undefined;
}

// A HEAD's Last-Modified has whole seconds, a listing's may have milliseconds: a sidecar written in the same
// second as its object compares as written no later.
const wholeSeconds = (time: Date | undefined) => Math.floor((time?.getTime() ?? 0) / 1000);

/** The sidecar version written with `version`, or undefined when none of the sidecar's versions is (expired, deleted). */
export async function readVersionSidecar(options: ReadVersionSidecarOptions): Promise<SidecarDocument | undefined> {
  const { s3, bucket, version, abortSignal } = options;
  const sidecarKey = sidecarKeyFor({ prefix: options.prefix, key: version.key });
  const candidates: ObjectVersion[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: sidecarKey,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(versionIdMarker !== undefined ? { VersionIdMarker: versionIdMarker } : {}),
      }),
      abortSignal ? { abortSignal } : {},
    );
    for (const entry of page.Versions ?? []) {
      if (entry.Key === sidecarKey && entry.VersionId && wholeSeconds(entry.LastModified) <= wholeSeconds(version.s3LastModified)) {
        candidates.push(entry);
      }
    }
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker !== undefined);
  candidates.sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0));
  for (const candidate of candidates) {
    const document = await readSidecar({
      s3,
      bucket,
      sidecarKey,
      versionId: candidate.VersionId ?? '',
      ...(abortSignal ? { abortSignal } : {}),
    });
    if (document.key === version.key && version.sourceEtag !== undefined && document.sourceEtag === version.sourceEtag) return document;
  }
  return undefined;
}

/** A version's whole properties: its metadata with the sidecar's, the index tags S3 refused, and what could not be found. */
export interface CompleteProperties {
  version: RecordedVersion;
  /** Index tags kept in the sidecar (S3 refuses keys starting with `aws:`); they join the object's tags. */
  sidecarTags: Record<string, string>;
  /** What the backup put in a sidecar that no sidecar version written with this one holds (`metadata`, `tags`). */
  missing: string[];
}

/** The version with what its sidecar holds, when the backup put anything there. */
export async function completeProperties(
  options: Omit<ReadVersionSidecarOptions, 'version'> & { version: RecordedVersion },
): Promise<CompleteProperties> {
  const { version } = options;
  if (version.inSidecar.length === 0) return { version, sidecarTags: {}, missing: [] };
  const sidecar = await readVersionSidecar(options);
  if (!sidecar) return { version, sidecarTags: {}, missing: version.inSidecar };
  return { version: { ...version, metadata: { ...version.metadata, ...sidecar.metadata } }, sidecarTags: sidecar.tags, missing: [] };
}
