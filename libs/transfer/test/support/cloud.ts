import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';

export type S3Flavour = 's3rver' | 'moto';

/**
 * Both, always: moto is the faithful S3 (checksums, conditional writes, resumable uploads), so a machine
 * without python3 fails moto's start with local-cloud's message naming the install, instead of the moto
 * half of the suite vanishing.
 */
export const s3Flavours: S3Flavour[] = ['s3rver', 'moto'];

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
