export { fromAzureTokenCredential, type FederationOptions, type FromAzureTokenCredentialOptions } from './from-azure-token-credential.js';
export { fromAzureManagedIdentity, type FromAzureManagedIdentityOptions } from './from-azure-managed-identity.js';
export { managedIdentityCredential, type ManagedIdentitySelector } from './identity.js';
export { credentialProcessOutput, type CredentialProcessOutput } from './credential-process.js';
export { writeWebIdentityTokenFile, type WriteWebIdentityTokenFileOptions } from './web-identity-token-file.js';
export { FederatedCredentialsError, type FederatedCredentialsErrorCode } from './errors.js';
export { decodeTokenClaims, type TokenClaims } from './token-claims.js';
