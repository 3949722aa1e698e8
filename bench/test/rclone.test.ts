import type { Stack } from '@blobferry/local-cloud';
import { describe, expect, it } from 'vitest';
import { rcloneConfig, rcloneEnv } from '../src/rclone.ts';

const stack = {
  azure: { accountName: 'devstoreaccount1', accountKey: 'a2V5', blobEndpoint: 'http://127.0.0.1:41000/devstoreaccount1' },
  aws: { region: 'us-east-1', s3Endpoint: 'http://127.0.0.1:42000', emulatorAccessKeyId: 'S3RVER', emulatorSecretAccessKey: 'S3RVER' },
} as unknown as Stack;

describe('rclone config', () => {
  it('points both remotes at the stack and tunes them like blobferry', () => {
    const conf = rcloneConfig(stack, { partSize: 8 * 1024 * 1024, concurrency: 4 });
    expect(conf).toContain('[azure]\ntype = azureblob\nuse_emulator = true');
    expect(conf).toContain('endpoint = http://127.0.0.1:41000/devstoreaccount1');
    expect(conf).toContain('[s3]\ntype = s3\nprovider = Other');
    expect(conf).toContain('endpoint = http://127.0.0.1:42000');
    expect(conf).toContain('force_path_style = true');
    expect(conf.match(/chunk_size = 8192Ki/g)).toHaveLength(2);
    expect(conf).toContain('upload_cutoff = 8192Ki');
    expect(conf.match(/upload_concurrency = 4/g)).toHaveLength(2);
  });

  it('keeps AWS settings of the caller away from rclone', () => {
    process.env.AWS_CA_BUNDLE = '/etc/ssl/corp.pem';
    process.env.RCLONE_S3_ENDPOINT = 'https://elsewhere';
    try {
      const env = rcloneEnv('/tmp/x/rclone.conf');
      expect(env.RCLONE_CONFIG).toBe('/tmp/x/rclone.conf');
      expect(env.AWS_CA_BUNDLE).toBeUndefined();
      expect(env.RCLONE_S3_ENDPOINT).toBeUndefined();
    } finally {
      delete process.env.AWS_CA_BUNDLE;
      delete process.env.RCLONE_S3_ENDPOINT;
    }
  });
});
