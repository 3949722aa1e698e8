import { S3ServiceException } from '@aws-sdk/client-s3';
import { SourceChangedError, SourceNotFoundError } from '@blobferry/transfer';
import { describe, expect, it } from 'vitest';
import { isObjectFailure, ObjectRequestFailed, ReconcileRequestError, requestFor } from '../src/failures.js';

const s3Error = (status: number, name: string, message = 'UnknownError') =>
  new S3ServiceException({ name, $fault: status < 500 ? 'client' : 'server', $metadata: { httpStatusCode: status }, message });
const networkError = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });

describe('which failures concern one object and which the run', () => {
  it("takes a service answering 4xx for one object, or a blob changing under the run, as that object's", () => {
    for (const error of [
      s3Error(403, 'Forbidden'),
      s3Error(404, 'NotFound'),
      new SourceNotFoundError('gone'),
      new SourceChangedError('changed'),
    ]) {
      expect(isObjectFailure(error)).toBe(true);
    }
  });

  it("takes no answer, 5xx, timeouts and throttling (after the SDK retried them) as the run's", () => {
    for (const error of [
      networkError(),
      s3Error(500, 'InternalError'),
      s3Error(503, 'SlowDown'),
      s3Error(408, 'RequestTimeout'),
      s3Error(429, 'TooManyRequests'),
    ]) {
      expect(isObjectFailure(error)).toBe(false);
    }
  });

  it('turns an object failure into its reason, and a run failure into a ReconcileRequestError naming what was read', async () => {
    const refused = requestFor('s3', 'head', 's3://b/k', () => Promise.reject(s3Error(403, 'Unknown')));
    await expect(refused).rejects.toBeInstanceOf(ObjectRequestFailed);
    await expect(refused).rejects.toMatchObject({
      detail: { service: 's3', operation: 'head', status: 403, reason: 'S3 HEAD answered 403 Forbidden' },
    });

    const unreachable = requestFor('s3', 'head', 's3://b/k', () => Promise.reject(networkError()));
    await expect(unreachable).rejects.toBeInstanceOf(ReconcileRequestError);
    await expect(unreachable).rejects.toThrow('S3 HEAD of s3://b/k failed: connect ECONNREFUSED 127.0.0.1:9');

    // A listing's failure is always the run's: without it, no name can be classified.
    const listing = requestFor('azure', 'list', 'container "c"', () => Promise.reject(s3Error(403, 'AuthorizationFailure', 'not allowed')));
    await expect(listing).rejects.toMatchObject({ name: 'ReconcileRequestError', service: 'azure', operation: 'list' });
  });

  it('lets aborts through untouched', async () => {
    const abort = new DOMException('stopped', 'AbortError');
    await expect(requestFor('s3', 'head', 's3://b/k', () => Promise.reject(abort))).rejects.toBe(abort);
  });
});
