import type { TokenCredential } from '@azure/core-auth';
import { ManagedIdentityCredential } from '@azure/identity';
import { FederatedCredentialsError } from './errors.js';

/**
 * Which managed identity of the host asks Entra for tokens. At most one field may be set; none means the
 * system-assigned identity.
 */
export interface ManagedIdentitySelector {
  /** Client (application) id of a user-assigned managed identity. */
  managedIdentityClientId?: string;
  /** Object (principal) id of a user-assigned managed identity. */
  managedIdentityObjectId?: string;
  /** ARM resource id of a user-assigned managed identity. */
  managedIdentityResourceId?: string;
}

/**
 * The ManagedIdentityCredential for a selector. Build it once and pass it to everything that needs the
 * identity (Azure Storage clients, telemetry, fromAzureTokenCredential): each credential object keeps its
 * own token cache. It finds the identity endpoint the way @azure/identity does on every Azure host
 * (IDENTITY_ENDPOINT + IDENTITY_HEADER on App Service and Functions, IMDS elsewhere).
 */
export function managedIdentityCredential(selector: ManagedIdentitySelector = {}): TokenCredential {
  const chosen = (
    [
      ['managedIdentityClientId', selector.managedIdentityClientId],
      ['managedIdentityObjectId', selector.managedIdentityObjectId],
      ['managedIdentityResourceId', selector.managedIdentityResourceId],
    ] as const
  ).filter(([, value]) => value !== undefined && value !== '');
  if (chosen.length > 1) {
    throw new FederatedCredentialsError(
      'InvalidOptions',
      `Choose one identity: got ${chosen.map(([name]) => name).join(' and ')}. ` +
        'Pass managedIdentityClientId, managedIdentityObjectId or managedIdentityResourceId for a user-assigned identity, ' +
        'or none of them for the system-assigned identity.',
    );
  }
  const { managedIdentityClientId: clientId, managedIdentityObjectId: objectId, managedIdentityResourceId: resourceId } = selector;
  if (clientId) return new ManagedIdentityCredential({ clientId });
  if (objectId) return new ManagedIdentityCredential({ objectId });
  if (resourceId) return new ManagedIdentityCredential({ resourceId });
  return new ManagedIdentityCredential();
}
