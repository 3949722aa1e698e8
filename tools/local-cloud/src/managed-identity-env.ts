import type { Stack } from './types.js';

/** Every variable through which @azure/identity (via MSAL) picks its managed identity source. */
export const MANAGED_IDENTITY_VARIABLES = [
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'IDENTITY_SERVER_THUMBPRINT',
  'MSI_ENDPOINT',
  'MSI_SECRET',
  'IMDS_ENDPOINT',
  'AZURE_POD_IDENTITY_AUTHORITY_HOST',
  'AZURE_FEDERATED_TOKEN_FILE',
  'AZURE_CLIENT_ID',
  'AZURE_TENANT_ID',
] as const;

export type ManagedIdentityStyle = 'app-service' | 'imds';

/**
 * Points this process's @azure/identity at the local identity plane, App Service style
 * (IDENTITY_ENDPOINT + IDENTITY_HEADER, as on Azure Functions) or IMDS style (as on a VM), after
 * clearing every other variable MSAL reads. MSAL fixes its source once per process, so a test file
 * calls this once, before it builds any credential. Returns a function that restores the environment.
 */
export function useLocalManagedIdentity(
  identity: Pick<Stack['identity'], 'identityEndpoint' | 'identityHeader' | 'imdsHost'>,
  style: ManagedIdentityStyle,
): () => void {
  const saved = new Map(MANAGED_IDENTITY_VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of MANAGED_IDENTITY_VARIABLES) delete process.env[name];
  if (style === 'app-service') {
    process.env['IDENTITY_ENDPOINT'] = identity.identityEndpoint;
    process.env['IDENTITY_HEADER'] = identity.identityHeader;
  } else {
    process.env['AZURE_POD_IDENTITY_AUTHORITY_HOST'] = identity.imdsHost;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
