import type { TokenCredential } from '@azure/core-auth';
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { getEntraToken } from './entra-token.js';
import { FederatedCredentialsError } from './errors.js';

export interface WriteWebIdentityTokenFileOptions {
  /** The Azure identity whose token is written (ManagedIdentityCredential, DefaultAzureCredential, ...). */
  credential: TokenCredential;
  /** Entra audience the token is requested for (the role trust policy's `aud`). */
  audience: string;
  /** Where `AWS_WEB_IDENTITY_TOKEN_FILE` points. */
  path: string;
  abortSignal?: AbortSignal;
}

/**
 * Writes an Entra token for the identity to `path` (mode 0600, atomically: readers never see a
 * half-written file), for tools that read `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` themselves.
 * The token expires (`expiresOn`): rewrite the file before then, e.g. from a timer.
 */
export async function writeWebIdentityTokenFile(options: WriteWebIdentityTokenFileOptions): Promise<{ path: string; expiresOn: Date }> {
  if (!options.audience) {
    throw new FederatedCredentialsError('InvalidOptions', 'writeWebIdentityTokenFile: audience is required.');
  }
  const accessToken = await getEntraToken(options.credential, options.audience, options.abortSignal);
  const directory = dirname(options.path);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const temporary = join(directory, `.${basename(options.path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, accessToken.token, { mode: 0o600, flag: 'wx' });
    await rename(temporary, options.path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { path: options.path, expiresOn: new Date(accessToken.expiresOnTimestamp) };
}
