import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

/**
 * `--local`: the local cloud's App Service style managed-identity endpoint (the protocol of
 * IDENTITY_ENDPOINT + IDENTITY_HEADER on Azure Functions), spoken directly. @azure/identity finds that
 * endpoint only through process-wide environment variables, which the CLI does not write; the rest of the
 * path (Entra-shaped token -> STS trust policy -> S3) is the product's own.
 */
export class LocalManagedIdentityCredential implements TokenCredential {
  constructor(private readonly endpoint: { identityEndpoint: string; identityHeader: string; clientId?: string }) {}

  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? scopes[0] : scopes;
    const url = new URL(this.endpoint.identityEndpoint);
    url.searchParams.set('api-version', '2019-08-01');
    url.searchParams.set('resource', (scope ?? '').replace(/\/\.default$/, ''));
    if (this.endpoint.clientId) url.searchParams.set('client_id', this.endpoint.clientId);
    const response = await fetch(url, {
      headers: { 'X-IDENTITY-HEADER': this.endpoint.identityHeader, accept: 'application/json' },
      ...(options.abortSignal ? { signal: options.abortSignal as AbortSignal } : {}),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: unknown; expires_on?: unknown; message?: unknown };
    if (!response.ok || typeof body.access_token !== 'string') {
      throw new Error(`the local identity endpoint ${url.origin} answered ${response.status}: ${String(body.message ?? 'no token')}`);
    }
    return { token: body.access_token, expiresOnTimestamp: Number(body.expires_on) * 1000, tokenType: 'Bearer' };
  }
}
