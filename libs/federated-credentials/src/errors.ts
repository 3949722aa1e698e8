/**
 * Anything shaped like a JWT (three base64url segments, the first starting with `eyJ` = `{"`).
 * Tokens must never reach a message or a log line; this pattern is the last line of defence
 * for text that came from elsewhere (SDK errors, identity endpoints).
 */
const JWT_PATTERN = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;

export function scrubJwts(text: string): string {
  return text.replace(JWT_PATTERN, '<redacted token>');
}

/** What went wrong, in a fixed vocabulary a caller can branch on. */
export type FederatedCredentialsErrorCode =
  | 'InvalidOptions'
  | 'IdentityUnavailable'
  | 'AccessDenied'
  | 'InvalidIdentityToken'
  | 'ExpiredToken'
  | 'IdentityProviderUnreachable'
  | 'Throttled'
  | 'StsUnavailable'
  | 'StsError'
  | 'Aborted';

/** Thrown by every function of this package. Messages say what to fix and never contain a token. */
export class FederatedCredentialsError extends Error {
  override readonly name = 'FederatedCredentialsError';
  readonly code: FederatedCredentialsErrorCode;

  constructor(code: FederatedCredentialsErrorCode, message: string, options?: { cause?: unknown }) {
    super(scrubJwts(message), options?.cause === undefined ? undefined : { cause: scrubbedCause(options.cause) });
    this.code = code;
  }
}

/**
 * SDK errors carry raw responses and request metadata; keep only a scrubbed name and message so
 * nothing token-shaped survives in `cause` (which loggers print).
 */
function scrubbedCause(cause: unknown): Error {
  if (cause instanceof Error) {
    const copy = new Error(scrubJwts(cause.message));
    copy.name = cause.name;
    return copy;
  }
  return new Error(scrubJwts(String(cause)));
}

export function abortError(signal: AbortSignal): FederatedCredentialsError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : 'the abort signal fired';
  return new FederatedCredentialsError('Aborted', `Getting AWS credentials was aborted: ${detail}`);
}
