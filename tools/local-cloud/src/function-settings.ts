import { QUEUE_CONNECTION, QUEUE_NAME_SETTING, type SettingName, type Stack } from '@blobferry/contract';
import { LOCAL_SWEEP_EVENT_LAG, LOCAL_SWEEP_SCHEDULE, STATE_CONTAINER } from './constants.js';

function blobEndpointOf(connectionString: string): string {
  const endpoint = /(?:^|;)BlobEndpoint=([^;]+)/.exec(connectionString)?.[1];
  if (!endpoint) throw new Error('the host storage connection string names no BlobEndpoint');
  return endpoint.replace(/\/+$/, '');
}

/**
 * The app settings the backup Function (apps/backup-function) gets on Azure, pointed at this local cloud:
 * the identity endpoint (App Service style, as on Functions), the local STS and S3 (and what that S3 does
 * with checksums and conditional writes), Azurite's blob and queue services by connection string (Azurite
 * speaks plain http, where the SDK refuses to send a bearer token), the queue trigger's connection and the
 * host storage.
 * One home for npm start, the app's tests and the bench; the app's own tests check that its configuration
 * accepts every one of them (apps/backup-function/test/config.test.ts).
 */
export function backupFunctionSettings(stack: Stack): Partial<Record<SettingName, string>> & Record<string, string> {
  return {
    AWS_ROLE_ARN: stack.aws.roleArn,
    AWS_REGION: stack.aws.region,
    BACKUP_BUCKET: stack.aws.bucket,
    BACKUP_PREFIX: stack.aws.prefix,
    TOKEN_AUDIENCE: stack.identity.audience,
    AZURE_CLIENT_ID: stack.identity.backupIdentity.clientId,
    ALLOWED_SOURCES: `${stack.azure.accountName}/${stack.azure.sourceContainer}`,
    AWS_STS_ENDPOINT: stack.aws.stsEndpoint,
    S3_ENDPOINT: stack.aws.s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_CHECKSUM: stack.aws.s3Features.checksum,
    S3_CONDITIONAL_WRITES: String(stack.aws.s3Features.conditionalWrites),
    AZURE_STORAGE_CONNECTION_STRING: stack.azure.connectionString,
    // In the host storage, which raises no blob events (the public blob endpoint does, as a source account).
    STATE_CONTAINER_URL: `${blobEndpointOf(stack.azure.hostStorageConnectionString)}/${STATE_CONTAINER}`,
    SWEEP_SCHEDULE: LOCAL_SWEEP_SCHEDULE,
    // Events arrive within seconds here: a block blob the sweep finds older than a minute lost its event.
    SWEEP_EVENT_LAG: LOCAL_SWEEP_EVENT_LAG,
    DEAD_LETTER_CONTAINER_URL: stack.events.deadLetterContainerUrl,
    EVENT_SUBSCRIPTION_NAME: stack.events.subscriptionName,
    // The queue trigger's connection, read by the Functions host: a connection string locally, where
    // Azure uses BACKUP_QUEUE__queueServiceUri with the managed identity.
    [QUEUE_CONNECTION]: stack.azure.connectionString,
    // The host's own storage (timer locks and schedule status), read by the Functions host; Azure uses
    // AzureWebJobsStorage__accountName with the managed identity.
    AzureWebJobsStorage: stack.azure.hostStorageConnectionString,
    [QUEUE_NAME_SETTING]: stack.events.queueName,
    // Read by @azure/identity's ManagedIdentityCredential, exactly as the Functions platform sets them.
    IDENTITY_ENDPOINT: stack.identity.identityEndpoint,
    IDENTITY_HEADER: stack.identity.identityHeader,
  };
}
