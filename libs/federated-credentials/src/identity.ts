import type { TokenCredential } from '@azure/core-auth';
import { ManagedIdentityCredential } from '@azure/identity';
import { FederatedCredentialsError } from './errors.js';

/**
 * Which Azure identity asks Entra for the token. At most one field may be set; none means the
 * system-assigned managed identity of the host.
 */
export interface AzureIdentityOptions {
  /** Client (application) id of a user-assigned managed identity. */
  managedIdentityClientId?: string;
  /** Object (principal) id of a user-assigned managed identity. */
  managedIdentityObjectId?: string;
  /** ARM resource id of a user-assigned managed identity. */
  managedIdentityResourceId?: string;
  /**
   * Any other `TokenCredential`: `DefaultAzureCredential` on a developer machine (after `az login`),
   * `WorkloadIdentityCredential` on AKS.
   */
  credential?: TokenCredential;
}

/**
 * A TokenCredential made lazily, and what identifies it: a key for managed identities, the caller's own
 * credential object otherwise.
 */
export interface ResolvedIdentity {
  key: string;
  ownCredential?: TokenCredential;
  credential(): TokenCredential;
}

export function resolveIdentity(options: AzureIdentityOptions): ResolvedIdentity {
  const chosen = (
    [
      ['credential', options.credential],
      ['managedIdentityClientId', options.managedIdentityClientId],
      ['managedIdentityObjectId', options.managedIdentityObjectId],
      ['managedIdentityResourceId', options.managedIdentityResourceId],
    ] as const
  ).filter(([, value]) => value !== undefined && value !== '');
  if (chosen.length > 1) {
    throw new FederatedCredentialsError(
      'InvalidOptions',
      `Choose one identity: got ${chosen.map(([name]) => name).join(' and ')}. ` +
        'Pass managedIdentityClientId, managedIdentityObjectId or managedIdentityResourceId for a user-assigned identity, ' +
        'credential for any other TokenCredential, or none of them for the system-assigned identity.',
    );
  }
  const { credential, managedIdentityClientId, managedIdentityObjectId, managedIdentityResourceId } = options;
  if (credential) return { key: 'credential', ownCredential: credential, credential: () => credential };
  // Constructed on first use: ManagedIdentityCredential reads IDENTITY_ENDPOINT & co. when built.
  let managed: ManagedIdentityCredential | undefined;
  const lazily = (make: () => ManagedIdentityCredential) => () => (managed ??= make());
  if (managedIdentityClientId) {
    return {
      key: `client-id:${managedIdentityClientId}`,
      credential: lazily(() => new ManagedIdentityCredential({ clientId: managedIdentityClientId })),
    };
  }
  if (managedIdentityObjectId) {
    return {
      key: `object-id:${managedIdentityObjectId}`,
      credential: lazily(() => new ManagedIdentityCredential({ objectId: managedIdentityObjectId })),
    };
  }
  if (managedIdentityResourceId) {
    return {
      key: `resource-id:${managedIdentityResourceId}`,
      credential: lazily(() => new ManagedIdentityCredential({ resourceId: managedIdentityResourceId })),
    };
  }
  return { key: 'system-assigned', credential: lazily(() => new ManagedIdentityCredential()) };
}
