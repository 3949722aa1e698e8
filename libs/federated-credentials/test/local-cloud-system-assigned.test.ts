// Real path with the system-assigned identity: no identity option at all, as on a VM with only its own
// identity enabled (the IMDS endpoint, the second source document's scenario); the trust policy admits
// the system identity's principal id.
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FederatedCredentialsError, fromAzureManagedIdentity } from '../src/index.js';
import { JWT, rejection, s3ClientFor, startCloudForIdentity } from './local-cloud-support.js';

let cloud: LocalCloud;
let stopCloud: () => Promise<void>;

beforeAll(async () => {
  ({ cloud, stop: stopCloud } = await startCloudForIdentity({ endpoint: 'imds', trust: 'system-assigned' }));
});
afterAll(async () => {
  await stopCloud?.();
});

describe('fromAzureManagedIdentity through the local cloud (system-assigned identity, IMDS)', () => {
  it('lets an S3 client write and list objects with the system-assigned identity', async () => {
    const credentials = fromAzureManagedIdentity({
      roleArn: cloud.stack.aws.roleArn,
      audience: cloud.stack.identity.audience,
      stsEndpoint: cloud.stack.aws.stsEndpoint,
      stsRegion: cloud.stack.aws.region,
    });
    const s3 = s3ClientFor(cloud, credentials);
    const key = `${cloud.stack.aws.prefix}federated/system-assigned.txt`;
    await s3.send(new PutObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key, Body: 'system' }));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: cloud.stack.aws.bucket, Prefix: key }));
    expect(listed.Contents?.map((entry) => entry.Key)).toEqual([key]);
  });

  it('the user-assigned backup identity is refused when the trust policy pins the system identity', async () => {
    const backup = cloud.stack.identity.backupIdentity;
    const error = await rejection(
      fromAzureManagedIdentity({
        roleArn: cloud.stack.aws.roleArn,
        audience: cloud.stack.identity.audience,
        managedIdentityClientId: backup.clientId,
        stsEndpoint: cloud.stack.aws.stsEndpoint,
        stsRegion: cloud.stack.aws.region,
      })(),
    );
    expect((error as FederatedCredentialsError).code).toBe('AccessDenied');
    expect(error.message).toContain(`sub=${backup.principalId}`);
    expect(error.message).not.toMatch(JWT);
  });
});
