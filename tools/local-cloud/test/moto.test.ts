import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PYTHON3_VENV, requireTool } from '@blobferry/test-support';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalCloud, type LocalCloud } from '../src/index.js';
import { processGroupGone } from './process-gone.js';

// The local cloud creates a venv with python3 (venv + ensurepip) and installs moto from PyPI into it.
const python = requireTool(PYTHON3_VENV);

python.describe('S3 on moto (venv under .local-cloud/moto-venv)', () => {
  let cloud: LocalCloud;

  // The first run installs moto from PyPI into the workspace's venv.
  beforeAll(async () => {
    cloud = await startLocalCloud({ s3: 'moto', log: () => undefined });
  }, 240_000);
  afterAll(() => cloud?.stop());

  it('serves the bucket through @aws-sdk/client-s3 and stops its server process', async () => {
    const { aws } = cloud.stack;
    expect(aws.emulatorAccessKeyId).toBe('moto-access-key');
    const s3 = new S3Client({
      endpoint: aws.s3Endpoint,
      region: aws.region,
      forcePathStyle: true,
      credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
    });
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'moto/hello.txt', Body: 'hello moto' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: 'moto/hello.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello moto');

    const pids = cloud.childPids;
    expect(pids).toHaveLength(3);
    await cloud.stop();
    for (const pid of pids) expect(processGroupGone(pid)).toBe(true);
  });
});
