export { AZURE_STORAGE_RETRY, CREDENTIALS_REFRESH_RETRY_MS, DOWNLOAD_RESUMES, S3_RETRY, STS_RETRY } from './policy.js';
export { failureKind, httpStatusOf, isAbortError, type FailureKind } from './classify.js';
