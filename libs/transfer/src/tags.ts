// Blob index tags -> S3 object tags. Both services allow 10 tags per object, keys of 1-128 and values of
// 0-256 characters, case-sensitive. Azure allows letters, digits, space and + - . / : = _ (Set Blob Tags);
// S3 allows Unicode letters, numbers and spaces and + - = . _ : / @ (pattern ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$),
// so every Azure character maps as it is. What does not map: S3 reserves keys starting with `aws:` (any
// case) for itself. Such a tag goes to the object's properties sidecar and is reported; it never fails the copy.

export type Tags = Record<string, string>;

const S3_RESERVED_KEY = /^aws:/i;

/** The tags S3 can hold as they are, and those it cannot (`unmapped`). */
export function s3TagsOf(tags: Tags): { mapped: Tags; unmapped: Tags } {
  const mapped: Tags = {};
  const unmapped: Tags = {};
  for (const [key, value] of Object.entries(tags)) (S3_RESERVED_KEY.test(key) ? unmapped : mapped)[key] = value;
  return { mapped, unmapped };
}

/**
 * The `x-amz-tagging` header (the SDK's `Tagging`): URL query form, each key and value percent-encoded
 * (`+` would otherwise read as a space), or undefined for no tags.
 */
export function taggingHeaderOf(tags: Tags): string | undefined {
  const entries = Object.entries(tags);
  if (entries.length === 0) return undefined;
  return entries.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
}

export function tagsOfTagSet(tagSet: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined): Tags {
  return Object.fromEntries((tagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}
