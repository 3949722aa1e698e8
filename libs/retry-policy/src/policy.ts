// blobferry's one retry policy. Every request is retried by the SDK that sends it (the AWS SDK's standard
// retry strategy, Azure Storage's StorageRetryPolicy), configured with the values below wherever a client
// is built; no blobferry code runs a retry loop of its own. What one call cannot get past is retried as a
// whole by whoever owns the work: the backup queue redelivers a failed copy (host.json maxDequeueCount),
// and the next attempt resumes its multipart upload; a failed credentials refresh is asked for again later.
//
// The bound: at most 7 tries of any one S3 or Azure Storage request and 5 of an STS request, and at most
// 51 s of waiting between the tries of one request (S3 throttling: the SDK waits a random time up to
// 1, 2, 4, 8, 16, 20 s; 3.15 s for other S3 errors; 11.4 s for Azure; 15 s for STS). A service that asks
// for more with Retry-After gets at most 5 s more a wait. Fewer tries when the SDK's retry budget for
// the client is spent (the AWS standard strategy's token bucket), which is how an outage stops the retrying.

/**
 * Tries of one S3 request, the first included, for an S3Client's configuration (`{ ...S3_RETRY }`).
 * Seven tries ride out a burst of six failures of one request (S3 answers SlowDown in bursts while it
 * scales a prefix) before the copy fails and the queue brings it back minutes later.
 */
export const S3_RETRY = { maxAttempts: 7, retryMode: 'standard' } as const;

/**
 * Tries of one STS AssumeRoleWithWebIdentity, for the STS client the federated provider builds. Fewer
 * than for data: every AWS request of the process waits for this one, and a still-valid session is
 * served meanwhile (see CREDENTIALS_REFRESH_RETRY_MS).
 */
export const STS_RETRY = { maxAttempts: 5, retryMode: 'standard' } as const;

/**
 * `retryOptions` of an Azure Storage client (BlobServiceClient, QueueClient): 7 tries, waiting
 * 0, 0.2, 0.6, 1.4, 3.0, 6.2 s before the 2nd..7th (StorageRetryPolicy's exponential formula, no jitter).
 * Azure's defaults (4 tries, 4 s doubling to 2 min) would hold a copy for minutes on one request.
 */
export const AZURE_STORAGE_RETRY = { maxTries: 7, retryDelayInMs: 200, maxRetryDelayInMs: 8_000 } as const;

/**
 * How often a download whose body is cut off mid-stream picks up where it stopped (a new ranged request,
 * pinned to the same version, tried under the policy above): libs/transfer's source.ts for Azure (the
 * SDK's own `maxRetryRequests` stops at a dropped connection), digestObject for S3.
 */
export const DOWNLOAD_RESUMES = 3;

/**
 * After a failed credentials refresh while the current session still works, the session is served and
 * STS is asked again no sooner than this (each ask is one STS request under STS_RETRY).
 */
export const CREDENTIALS_REFRESH_RETRY_MS = 30_000;
