export { fromAzureManagedIdentity, type FromAzureManagedIdentityOptions } from './from-azure-managed-identity.js';
export type { AzureIdentityOptions } from './identity.js';
export { credentialProcessOutput, type CredentialProcessOutput } from './credential-process.js';
export { writeWebIdentityTokenFile, type WriteWebIdentityTokenFileOptions } from './web-identity-token-file.js';
export { FederatedCredentialsError, scrubJwts, type FederatedCredentialsErrorCode } from './errors.js';
export { decodeTokenClaims, type TokenClaims } from './token-claims.js';
