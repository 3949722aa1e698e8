// What one delivery attempt came to, in Event Grid's vocabulary for `lastDeliveryOutcome`.

export interface AttemptOutcome {
  ok: boolean;
  outcome: 'Succeeded' | 'NotFound' | 'Unauthorized' | 'Forbidden' | 'Busy' | 'TimedOut' | 'GenericError';
  /** 0 when there was no HTTP answer. */
  httpStatus: number;
  error?: string;
}

export function outcomeForStatus(status: number): AttemptOutcome['outcome'] {
  if (status >= 200 && status < 300) return 'Succeeded';
  if (status === 404) return 'NotFound';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 429 || status === 503) return 'Busy';
  return 'GenericError';
}

/** An attempt that failed with this HTTP status. */
export function failedWith(status: number, error?: string): AttemptOutcome {
  return { ok: false, outcome: outcomeForStatus(status), httpStatus: status, ...(error === undefined ? {} : { error }) };
}
