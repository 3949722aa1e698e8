import type { AwsCredentialIdentityProvider } from '@smithy/types';

/** The JSON an AWS `credential_process` must print (AWS CLI, Terraform, rclone, every SDK). */
export interface CredentialProcessOutput {
  Version: 1;
  AccessKeyId: string;
  SecretAccessKey: string;
  SessionToken?: string;
  /** ISO 8601; tools call the process again before this time. */
  Expiration?: string;
}

export async function credentialProcessOutput(provider: AwsCredentialIdentityProvider): Promise<CredentialProcessOutput> {
  const credentials = await provider();
  return {
    Version: 1,
    AccessKeyId: credentials.accessKeyId,
    SecretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken ? { SessionToken: credentials.sessionToken } : {}),
    ...(credentials.expiration ? { Expiration: credentials.expiration.toISOString() } : {}),
  };
}
