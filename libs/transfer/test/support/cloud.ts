import { spawnSync } from 'node:child_process';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';

export type S3Flavour = 's3rver' | 'moto';

/** s3rver always; moto too where python3 is there to run it (local-cloud installs it into a venv). */
export const s3Flavours: S3Flavour[] = spawnSync('python3', ['--version']).status === 0 ? ['s3rver', 'moto'] : ['s3rver'];

/** Azurite + the chosen S3 behind local-cloud's fault proxy, on free ports, logging only warnings. */
export async function startCloud(s3: S3Flavour): Promise<LocalCloud> {
  return startLocalCloud({
    s3,
    faultProxy: true,
    log: (entry) => {
      if (entry.level === 'warn' || entry.level === 'error') process.stderr.write(`${JSON.stringify(entry)}\n`);
    },
  });
}
