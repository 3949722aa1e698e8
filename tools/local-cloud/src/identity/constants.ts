import type { ManagedIdentityInfo } from '../types.js';

// Fixed, made-up GUIDs so stack.json, the CloudFormation parameters and test expectations agree across
// runs. None of them exists in any real Entra tenant.

/** The fake Entra tenant every local token is issued for. */
export const LOCAL_TENANT_ID = '4f6c2a1e-8b3d-4e5f-9a7c-0d1e2f3a4b5c';

/** Audience (App ID URI) the backup Function asks for and the trust policy pins. */
export const DEFAULT_AUDIENCE = 'api://blobferry-backup';

const LOCAL_SUBSCRIPTION = '00000000-0000-4000-8000-00000000b10b';
const LOCAL_RESOURCE_GROUP = `/subscriptions/${LOCAL_SUBSCRIPTION}/resourceGroups/blobferry-local`;

/** The user-assigned identity the backup Function runs as: the only one the trust policy admits. */
export const BACKUP_IDENTITY: ManagedIdentityInfo = Object.freeze({
  clientId: '1b0bf0e1-5c2d-4a8e-9f31-6d7c8b9a0e11',
  principalId: '2b0bf0e1-6d3e-4b9f-8a42-7e8d9c0b1f22',
  resourceId: `${LOCAL_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/blobferry-backup`,
});

/** Another user-assigned identity in the same tenant: a valid token the trust policy must refuse. */
export const INTRUDER_IDENTITY: ManagedIdentityInfo = Object.freeze({
  clientId: '3c0ffee3-7e4f-4c0a-9b53-8f9e0d1c2a33',
  principalId: '4c0ffee4-8f50-4d1b-8c64-90af1e2d3b44',
  resourceId: `${LOCAL_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/blobferry-intruder`,
});

/** The host's system-assigned identity, served when a request names no identity. */
export const SYSTEM_IDENTITY: ManagedIdentityInfo = Object.freeze({
  clientId: '5d5a5e55-9061-4e2c-8d75-a1b02f3e4c55',
  principalId: '6d5a5e66-a172-4f3d-9e86-b2c1304f5d66',
  resourceId: `${LOCAL_RESOURCE_GROUP}/providers/Microsoft.Web/sites/blobferry-backup-function`,
});

export type IdentityName = 'backup' | 'intruder' | 'system';

export const IDENTITIES: Readonly<Record<IdentityName, ManagedIdentityInfo>> = Object.freeze({
  backup: BACKUP_IDENTITY,
  intruder: INTRUDER_IDENTITY,
  system: SYSTEM_IDENTITY,
});
