// The error vocabulary callers branch on. Two families:
// - PermanentTransferError and its subclasses: retrying cannot help (bad input, impossible key, the
//   source's own bytes contradict its declared Content-MD5). Log and acknowledge.
// - SourceChangedError / TargetChangedError: the world moved under the copy; a fresh attempt will see
//   the new state and do the right thing. Retry.

/** Base of every error that must never be retried. */
export class PermanentTransferError extends Error {
  override name = 'PermanentTransferError';
}

/** The string is not an Azure Blob URL this library understands. The message never echoes a query (SAS). */
export class InvalidBlobUrlError extends PermanentTransferError {
  override name = 'InvalidBlobUrlError';
}

/** The S3 key would exceed S3's limit of 1,024 UTF-8 bytes. */
export class KeyTooLongError extends PermanentTransferError {
  override name = 'KeyTooLongError';
  constructor(
    readonly key: string,
    readonly keyBytes: number,
  ) {
    super(
      `S3 key is ${keyBytes} UTF-8 bytes, over S3's limit of 1024: shorten the prefix or use a shorter layout ('container/blob' or 'blob')`,
    );
  }
}

/** The source blob does not exist (any more). A later event for a new blob brings it back. */
export class SourceNotFoundError extends PermanentTransferError {
  override name = 'SourceNotFoundError';
}

/**
 * The bytes read at one ETag hash to a different MD5 than the Content-MD5 the blob declares.
 * Permanent: every range was pinned to that ETag, so a retry reads the very same bytes and gets the
 * same answer. Someone must re-upload the blob or correct its Content-MD5 header.
 */
export class ContentMd5MismatchError extends PermanentTransferError {
  override name = 'ContentMd5MismatchError';
  constructor(
    readonly expectedMd5Base64: string,
    readonly actualMd5Base64: string,
  ) {
    super(
      `content read from Azure has MD5 ${actualMd5Base64} but the blob declares Content-MD5 ${expectedMd5Base64}; nothing was written to S3. Re-upload the blob or fix its Content-MD5 header`,
    );
  }
}

/**
 * The blob is in the Archive tier (or being rehydrated from it), so its bytes cannot be read (Azure answers
 * 409 BlobArchived), and S3 holds no backup of this version. Permanent: only the operator's rehydration
 * (Set Blob Tier to Hot or Cool, at a cost, hours later) makes it readable; the sweep copies it then.
 */
export class BlobArchivedError extends PermanentTransferError {
  override name = 'BlobArchivedError';
}

/** The blob is larger than one S3 object can be (5 TiB). */
export class ObjectTooLargeError extends PermanentTransferError {
  override name = 'ObjectTooLargeError';
}

/** Retryable: the blob was overwritten, appended to or deleted while it was being copied. Nothing was written. */
export class SourceChangedError extends Error {
  override name = 'SourceChangedError';
}

/**
 * Retryable: another writer replaced the target object while this copy ran, and its recorded source is
 * not newer than ours (otherwise the copy would have reported `skipped-newer-in-target`). Nothing was written.
 */
export class TargetChangedError extends Error {
  override name = 'TargetChangedError';
}
