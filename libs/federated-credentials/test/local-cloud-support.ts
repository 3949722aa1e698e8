// Shared pieces of the real-path tests: a local cloud whose App Service style identity endpoint is
// what @azure/identity's ManagedIdentityCredential talks to, as on Azure Functions.
import { S3Client } from '@aws-sdk/client-s3';
import { startLocalCloud, useLocalManagedIdentity, type LocalCloud, type LocalCloudOptions } from '@blobferry/local-cloud';
import type { AwsCredentialIdentityProvider, Logger } from '@smithy/types';

export const JWT = /eyJ[\w-]+\.[\w-]+\./;

/**
 * MSAL picks the managed identity source (and its endpoint) once per process, so each test file
 * starts exactly one local cloud and points the environment at it before any credential is built:
 * App Service / Functions style (IDENTITY_ENDPOINT + IDENTITY_HEADER) or VM style (IMDS).
 */
export async function startCloudForIdentity(options: LocalCloudOptions & { endpoint: 'app-service' | 'imds' }) {
  const logLines: string[] = [];
  const { endpoint, ...cloudOptions } = options;
  const cloud: LocalCloud = await startLocalCloud({ ...cloudOptions, log: (entry) => logLines.push(JSON.stringify(entry)) });
  const restoreEnv = useLocalManagedIdentity(cloud.stack.identity, endpoint);
  const stop = async () => {
    restoreEnv();
    await cloud.stop();
  };
  return { cloud, logLines, stop };
}

export function capturingLogger() {
  const lines: string[] = [];
  const record = (...content: unknown[]) => lines.push(content.map(String).join(' '));
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  return { logger, lines };
}

export function s3ClientFor(cloud: LocalCloud, credentials: AwsCredentialIdentityProvider): S3Client {
  return new S3Client({
    endpoint: cloud.stack.aws.s3Endpoint,
    region: cloud.stack.aws.region,
    forcePathStyle: true,
    credentials,
  });
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(outcome instanceof Error)) throw new Error('expected a rejection');
  return outcome;
}
