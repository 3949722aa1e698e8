import { describe, expect, it } from 'vitest';
import { failureKind } from '../src/index.js';

const s3Error = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const azureError = (status: number | undefined, code?: string) =>
  Object.assign(new Error('x'), { name: 'RestError', statusCode: status, code });

describe('failureKind', () => {
  it('treats 5xx, throttling, timeouts and resets as worth retrying', () => {
    for (const error of [
      s3Error('SlowDown', 503),
      s3Error('InternalError', 500),
      s3Error('RequestTimeout', 400),
      azureError(500),
      azureError(503),
      azureError(undefined, 'ECONNRESET'),
      Object.assign(new Error('reset'), { code: 'ECONNRESET' }),
    ]) {
      expect(['throttled', 'transient'], String((error as Error).name)).toContain(failureKind(error));
    }
    expect(failureKind(s3Error('SlowDown', 503))).toBe('throttled');
    expect(failureKind(azureError(503, 'ServerBusy'))).toBe('throttled');
    expect(failureKind(s3Error('RequestTimeTooSkewed', 403))).toBe('transient');
    expect(failureKind(Object.assign(new Error('x'), { $retryable: {} }))).toBe('transient');
  });

  it('tells conflicts, denials and permanent client errors apart, and never retries an abort', () => {
    expect(failureKind(s3Error('PreconditionFailed', 412))).toBe('conflict');
    expect(failureKind(s3Error('ConditionalRequestConflict', 409))).toBe('conflict');
    expect(failureKind(azureError(412, 'ConditionNotMet'))).toBe('conflict');
    expect(failureKind(s3Error('AccessDenied', 403))).toBe('denied');
    expect(failureKind(s3Error('NoSuchBucket', 404))).toBe('permanent');
    expect(failureKind(s3Error('InvalidArgument', 400))).toBe('permanent');
    expect(failureKind(azureError(404))).toBe('permanent');
    expect(failureKind(Object.assign(new Error('a'), { name: 'AbortError' }))).toBe('aborted');
    expect(failureKind(new Error('what'))).toBe('unknown');
    expect(failureKind('not an error')).toBe('unknown');
  });
});
