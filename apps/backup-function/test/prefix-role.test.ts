import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type LocalCloud, startLocalCloud, useLocalManagedIdentity } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupDeps } from '../src/backup-blob.js';
import { blobEvent, deliverEvent, depsForStack, s3Reader, sameBytes, sourceContainer } from './support.js';

// The role as infra/aws-iam makes it with a BucketPrefix: it may write, read and list only under the prefix.
// Amazon S3 then answers 403, not 404, for a missing key (the role may not list the whole bucket); the local
// cloud's S3 does the same, so the function is proven against that answer.

const PREFIX = 'backups/';
let cloud: LocalCloud;
let deps: BackupDeps;
let restoreEnvironment: (() => void) | undefined;

beforeAll(async () => {
  cloud = await startLocalCloud({ role: { allowDeleteMarkers: true }, bucket: { prefix: PREFIX }, log: () => undefined });
  restoreEnvironment = useLocalManagedIdentity(cloud.stack.identity, 'app-service');
  deps = depsForStack(cloud.stack, { DELETE_POLICY: 'delete-marker' });
});
afterAll(async () => {
  deps?.clients.s3.destroy();
  restoreEnvironment?.();
  await cloud?.stop();
});

const deliver = (event: unknown) => deliverEvent(event, deps);

describe('a role confined to a key prefix (BucketPrefix)', () => {
  it('backs up under the prefix, and may not write or list outside it', async () => {
    expect(deps.config.BACKUP_PREFIX).toBe(PREFIX);
    const content = Buffer.from('under the prefix');
    const uploaded = await sourceContainer(cloud.stack).getBlockBlobClient('confined.txt').uploadData(content);
    const { result } = await deliver(
      blobEvent(cloud.stack, 'confined.txt', { etag: (uploaded.etag ?? '').replace(/"/g, ''), contentLength: content.length }),
    );
    expect(result).toMatchObject({ outcome: 'copied' });
    const reader = s3Reader(cloud.stack);
    expect(reader.keyOf('confined.txt').startsWith(PREFIX)).toBe(true);
    expect(sameBytes(await reader.read('confined.txt'), content)).toBe(true);

    const credentials = await (
      deps.clients.s3.config.credentials as () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>
    )();
    const { aws } = cloud.stack;
    const asRole = new S3Client({ endpoint: aws.s3Endpoint, region: aws.region, forcePathStyle: true, credentials, maxAttempts: 1 });
    await expect(asRole.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'elsewhere/x', Body: 'x' }))).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    await expect(asRole.send(new ListObjectsV2Command({ Bucket: aws.bucket }))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect((await asRole.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: PREFIX }))).KeyCount).toBeGreaterThan(0);
  });

  it('writes a properties sidecar under the prefix too', async () => {
    // An `aws:` tag key S3 refuses on an object: it goes to the sidecar, which the role may write only under the prefix.
    const content = Buffer.from('tagged beyond what S3 takes');
    const blob = sourceContainer(cloud.stack).getBlockBlobClient('sidecar.txt');
    const uploaded = await blob.uploadData(content, { tags: { 'aws:origin': 'azure', team: 'platform' } });
    const { result } = await deliver(
      blobEvent(cloud.stack, 'sidecar.txt', { etag: (uploaded.etag ?? '').replace(/"/g, ''), contentLength: content.length }),
    );
    expect(result).toMatchObject({ outcome: 'copied' });
    const reader = s3Reader(cloud.stack);
    const listed = await reader.s3.send(new ListObjectsV2Command({ Bucket: cloud.stack.aws.bucket }));
    const sidecars = (listed.Contents ?? []).map((object) => object.Key ?? '').filter((key) => key.includes('.blobferry-properties/'));
    expect(sidecars).toHaveLength(1);
    expect(sidecars[0]?.startsWith(PREFIX)).toBe(true);
    reader.s3.destroy();
  });

  it('acknowledges a BlobDeleted for a blob it never backed up, which S3 answers with 403 to this role', async () => {
    const { result, logs } = await deliver(blobEvent(cloud.stack, 'never-backed-up.txt', { eventType: 'Microsoft.Storage.BlobDeleted' }));
    expect(result).toMatchObject({ outcome: 'delete-nothing-to-hide' });
    expect(logs.some((log) => log.level === 'error')).toBe(false);
  });
});
