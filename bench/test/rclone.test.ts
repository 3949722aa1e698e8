import type { Stack } from '@blobferry/local-cloud';
import { describe, expect, it } from 'vitest';
import { checkDifferences, failedAttempts, rcloneConfig, rcloneEnv, retriedAttempts } from '../src/rclone.ts';

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

describe('rclone attempts that failed and were retried', () => {
  // rclone 1.60's own log, --log-level ERROR, from a 1 GiB copyto to moto on an unversioned bucket: moto
  // refused the HEAD ?versionId=null after CompleteMultipartUpload, and rclone's second attempt found the copy.
  const retried = [
    '2026/12/06 03:30:20 ERROR : large.bin: Failed to copy: BadRequest: Bad Request',
    '\tstatus code: 400, request id: JGCOjURrcLGlK7V85iNdIIhuEPF7oD3nr89Pb2VRVXPiVoxNwZcS, host id: ',
    '2026/12/06 03:30:20 ERROR : Attempt 1/3 failed with 1 errors and: BadRequest: Bad Request',
    '\tstatus code: 400, request id: JGCOjURrcLGlK7V85iNdIIhuEPF7oD3nr89Pb2VRVXPiVoxNwZcS, host id: ',
    '2026/12/06 03:30:20 ERROR : Attempt 2/3 succeeded',
    '',
  ].join('\n');

  it('reads each failed attempt from the log, and not the one that succeeded', () => {
    expect(failedAttempts(retried)).toEqual(['Attempt 1/3 failed with 1 errors and: BadRequest: Bad Request']);
    expect(failedAttempts('')).toEqual([]);
  });

  it("counts them over a scenario's runs, and says nothing when every first attempt succeeded", () => {
    expect(retriedAttempts([{ stderr: retried }, { stderr: '' }, { stderr: retried }])).toEqual({
      failedAttempts: 2,
      firstFailedAttempt: 'Attempt 1/3 failed with 1 errors and: BadRequest: Bad Request',
    });
    expect(retriedAttempts([{ stderr: '' }, { stderr: '2026/12/06 03:30:20 ERROR : Attempt 2/3 succeeded\n' }])).toEqual({});
  });
});

describe('rclone check', () => {
  it('reads how many differences it found from its last line', () => {
    const stderr = [
      '2026/12/07 15:21:32 ERROR : estate/d2/f000102.bin: md5 differ',
      '2026/12/07 15:21:32 ERROR : estate/d1/f000101.bin: file not in S3 bucket blobferry-backup path sweep/a/c',
      '2026/12/07 15:21:32 Failed to check with 2 errors: last error was: 2 differences found',
    ].join('\n');
    expect(checkDifferences(stderr)).toBe(2);
    expect(checkDifferences('')).toBe(0);
  });
});
