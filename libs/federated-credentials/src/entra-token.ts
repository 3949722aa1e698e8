import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { FederatedCredentialsError } from './errors.js';

/** Entra's scope for "a token for this resource": the App ID URI (or app id) plus `/.default`. */
export function scopeForAudience(audience: string): string {
  return audience.endsWith('/.default') ? audience : `${audience}/.default`;
}

const OFF_AZURE_HINT =
  'No Azure managed identity answered here. On Azure, enable the identity on the resource (and pass ' +
  'managedIdentityClientId for a user-assigned one). Off Azure, use fromAzureTokenCredential with ' +
  '`credential: new DefaultAzureCredential()` after `az login` (CLI: run on an Azure host, or use ' +
  '`blobferry credentials --local` against tools/local-cloud, which reads its identity endpoint from .local-cloud/stack.json).';

export async function getEntraToken(credential: TokenCredential, audience: string, abortSignal?: AbortSignal): Promise<AccessToken> {
  let token: AccessToken | null;
  try {
    token = await credential.getToken(scopeForAudience(audience), abortSignal ? { abortSignal } : {});
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const detail = error instanceof Error ? error.message : String(error);
    if (name === 'AbortError') {
      throw new FederatedCredentialsError('Aborted', `Getting an Entra token was aborted: ${detail}`);
    }
    const hint =
      name === 'CredentialUnavailableError' ? OFF_AZURE_HINT : 'Check that the identity exists and may get tokens for this audience.';
    throw new FederatedCredentialsError(
      'IdentityUnavailable',
      `Could not get an Entra token for audience ${audience} (${name || 'error'}: ${detail}). ${hint}`,
      { cause: error },
    );
  }
  if (!token?.token) {
    throw new FederatedCredentialsError(
      'IdentityUnavailable',
      `The Azure credential returned no token for audience ${audience}. ${OFF_AZURE_HINT}`,
    );
  }
  return token;
}
