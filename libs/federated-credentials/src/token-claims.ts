/** The claims of an Entra access token that explain who is asking; never the token itself. */
export interface TokenClaims {
  /** Principal (object) id: what the role's trust policy pins as `sub`. */
  sub?: string;
  oid?: string;
  aud?: string;
  iss?: string;
  tid?: string;
  /** Client (application) id of the identity. */
  appid?: string;
  /** Expiry, seconds since the epoch. */
  exp?: number;
}

/**
 * Reads the payload of a JWT WITHOUT verifying it: only to name the identity in messages and to
 * derive a session name. STS does the verification.
 */
export function decodeTokenClaims(token: string): TokenClaims {
  const payload = token.split('.')[1];
  if (payload === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const text = (key: string) => {
    const value = record[key];
    if (typeof value === 'string') return value;
    // `aud` may be an array in general JWTs; Entra access tokens carry one audience.
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
    return undefined;
  };
  const claims: TokenClaims = {};
  for (const key of ['sub', 'oid', 'aud', 'iss', 'tid', 'appid'] as const) {
    const value = text(key);
    if (value !== undefined) claims[key] = value;
  }
  if (typeof record.exp === 'number') claims.exp = record.exp;
  return claims;
}

/** `sub=... aud=... iss=... tid=...` for messages; absent claims are shown as `?`. */
export function describeClaims(claims: TokenClaims): string {
  return `sub=${claims.sub ?? '?'} aud=${claims.aud ?? '?'} iss=${claims.iss ?? '?'} tid=${claims.tid ?? '?'}`;
}
