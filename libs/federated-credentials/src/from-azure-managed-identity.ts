import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { FederatedCredentialsError } from './errors.js';
import { federatedProvider, type FederationOptions } from './from-azure-token-credential.js';
import { managedIdentityCredential, type ManagedIdentitySelector } from './identity.js';

export interface FromAzureManagedIdentityOptions extends FederationOptions, ManagedIdentitySelector {}

/**
 * fromAzureTokenCredential with a ManagedIdentityCredential made here for the host's managed identity
 * (user-assigned when a selector is given, else system-assigned). When the process already holds a
 * credential for the identity (for Azure Storage, telemetry), pass that one to fromAzureTokenCredential
 * instead, so one token cache serves them all.
 */
export function fromAzureManagedIdentity(options: FromAzureManagedIdentityOptions): AwsCredentialIdentityProvider {
  if ('credential' in options) {
    throw new FederatedCredentialsError(
      'InvalidOptions',
      'fromAzureManagedIdentity makes its own ManagedIdentityCredential; to use another TokenCredential, call fromAzureTokenCredential({ credential, ... }).',
    );
  }
  return federatedProvider('fromAzureManagedIdentity', { ...options, credential: managedIdentityCredential(options) });
}
