import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { INVENTORY_QUEUE_NAME, poisonQueueOf } from '@blobferry/contract';
import {
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  BACKUP_BUCKET,
  BACKUP_QUEUE_NAME,
  EVENT_SUBSCRIPTION_NAME,
  INVENTORY_SUBSCRIPTION_NAME,
  SOURCE_CONTAINER,
} from '../constants.js';
import type { IdentityPlane } from '../identity/index.js';
import type { LocalCloudOptions } from '../local-cloud.js';
import type { RunningS3 } from '../s3/running-s3.js';
import type { Sts } from '../sts/index.js';
import type { Stack } from '../types.js';
import type { Closers } from './closers.js';

export interface BuildStackOptions {
  azure: { blobEndpoint: string; queueEndpoint: string; connectionString: string; hostStorageConnectionString: string };
  aws: {
    region: string;
    s3Endpoint: string;
    bucketPrefix: string;
    sts: Pick<Sts, 'endpoint' | 'roleArn'>;
    /** infra/aws-iam's RestoreRole, which the local operator user may assume. */
    restoreRoleArn: string;
    s3: RunningS3;
  };
  identity: IdentityPlane;
  events: LocalCloudOptions['events'];
  /** Event Grid's dead-letter container, in the host storage. */
  deadLetterContainerUrl: string;
  /** The control endpoint, when there is a fault proxy to control. */
  control: { endpoint: string; token: string } | undefined;
}

/** What clients need to reach the started parts: stack.json's content. */
export function buildStack({ azure, aws, identity, events, deadLetterContainerUrl, control }: BuildStackOptions): Stack {
  return {
    azure: {
      blobEndpoint: azure.blobEndpoint,
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: AZURITE_ACCOUNT_KEY,
      queueEndpoint: azure.queueEndpoint,
      connectionString: azure.connectionString,
      sourceContainer: SOURCE_CONTAINER,
      hostStorageConnectionString: azure.hostStorageConnectionString,
    },
    aws: {
      region: aws.region,
      s3Endpoint: aws.s3Endpoint,
      bucket: BACKUP_BUCKET,
      prefix: aws.bucketPrefix,
      stsEndpoint: aws.sts.endpoint,
      roleArn: aws.sts.roleArn,
      restoreRoleArn: aws.restoreRoleArn,
      emulatorAccessKeyId: aws.s3.credentials.accessKeyId,
      emulatorSecretAccessKey: aws.s3.credentials.secretAccessKey,
      s3Features: aws.s3.features,
    },
    identity: {
      tenantId: identity.tenantId,
      issuer: identity.issuer,
      audience: identity.audience,
      identityEndpoint: identity.identityEndpoint,
      identityHeader: identity.identityHeader,
      imdsHost: identity.imdsHost,
      backupIdentity: identity.backupIdentity,
      intruderIdentity: identity.intruderIdentity,
      systemIdentity: identity.systemIdentity,
      operatorUser: identity.operatorUser,
    },
    events: {
      delivery: !events ? 'off' : typeof events.target === 'object' ? ('webhookUrl' in events.target ? 'webhook' : 'handler') : 'queue',
      queueName: BACKUP_QUEUE_NAME,
      poisonQueueName: poisonQueueOf(BACKUP_QUEUE_NAME),
      subscriptionName: EVENT_SUBSCRIPTION_NAME,
      inventory: {
        queueName: INVENTORY_QUEUE_NAME,
        poisonQueueName: poisonQueueOf(INVENTORY_QUEUE_NAME),
        subscriptionName: INVENTORY_SUBSCRIPTION_NAME,
      },
      deadLetterContainerUrl,
    },
    ...(control ? { control: { endpoint: control.endpoint, token: control.token } } : {}),
  };
}

/** Writes stack.json once every part answers; it is removed first when stopping. */
export async function publishStack(stackFile: string, stack: Stack, closers: Closers): Promise<void> {
  await writeStackFile(stackFile, stack);
  // A stale stack.json would send clients to dead ports.
  closers.add(() => rm(stackFile, { force: true }));
}

/**
 * Writes a stack file (a Stack, or one that extends it) atomically and readable by its owner only: it holds
 * the emulators' keys. Readers never see a half-written file.
 */
export async function writeStackFile(path: string, stack: Stack): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, path);
}
