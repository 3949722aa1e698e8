// A TokenCredential that mints unsigned JWT-shaped tokens with Entra v1 claims, counting calls.
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

export const STUB_TENANT = '11111111-2222-3333-4444-555555555555';
export const STUB_PRINCIPAL = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

export class StubCredential implements TokenCredential {
  readonly scopes: string[] = [];
  private failure: Error | undefined;

  failWith(error: Error | undefined): void {
    this.failure = error;
  }

  async getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? (scopes[0] ?? '') : scopes;
    this.scopes.push(scope);
    if (this.failure) throw this.failure;
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = [
      encode({ typ: 'JWT', alg: 'RS256' }),
      encode({
        aud: scope.replace(/\/\.default$/, ''),
        iss: `https://sts.windows.net/${STUB_TENANT}/`,
        sub: STUB_PRINCIPAL,
        oid: STUB_PRINCIPAL,
        tid: STUB_TENANT,
        appid: 'client-id-of-stub',
        iat: now,
        exp: now + 3600,
        // Distinct tokens per call, so tests can tell a fresh token from a reused one.
        uti: `${this.scopes.length}`,
      }),
      'c2lnbmF0dXJl',
    ].join('.');
    return { token, expiresOnTimestamp: (now + 3600) * 1000, tokenType: 'Bearer' };
  }
}
