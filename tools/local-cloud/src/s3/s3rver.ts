import { createRequire } from 'node:module';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild } from '../child-process.js';
import { S3RVER_KEY_PAIR } from '../constants.js';
import type { RunningS3 } from './running-s3.js';

const require = createRequire(import.meta.url);

export interface StartS3rverOptions {
  port: number;
  persistDir?: string;
}

/** s3rver always stores on disk: a temp folder (removed on stop) unless `persistDir` is given. */
export async function startS3rver(o: StartS3rverOptions): Promise<RunningS3> {
  const directory = o.persistDir ?? (await mkdtemp(join(tmpdir(), 'local-cloud-s3rver-')));
  await mkdir(directory, { recursive: true });
  const bin = require.resolve('s3rver/bin/s3rver.js');
  const child = spawnChild({
    name: 's3rver',
    command: process.execPath,
    // s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 only offers through
    // its legacy provider: without it every listing longer than one page fails with a 500.
    // vhost-style buckets would need a wildcard DNS name; clients use path style against 127.0.0.1.
    args: ['--openssl-legacy-provider', bin, '-d', directory, '-a', '127.0.0.1', '-p', String(o.port), '--no-vhost-buckets'],
    readyPattern: /S3rver listening on ([\d.]+):(\d+)/,
  });
  const cleanup = async () => {
    await child.stop();
    if (!o.persistDir) await rm(directory, { recursive: true, force: true });
  };
  try {
    const match = await child.ready;
    return {
      kind: 's3rver',
      endpoint: `http://127.0.0.1:${match[2]}`,
      credentials: { ...S3RVER_KEY_PAIR },
      // It ignores both: sending a checksum would only cost CPU, and the copy must re-check before committing.
      features: { checksum: 'none', conditionalWrites: false },
      children: [child],
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
