import { join } from 'node:path';
import { startAzurite, type RunningAzurite } from '../azurite.js';
import { DEFAULT_PORTS } from '../constants.js';
import { DEFAULT_AUDIENCE, startIdentityPlane, type IdentityPlane } from '../identity/index.js';
import type { LocalCloudOptions, Log } from '../local-cloud.js';
import { startMoto } from '../s3/moto.js';
import type { RunningS3 } from '../s3/running-s3.js';
import { startS3rver } from '../s3/s3rver.js';
import { DEFAULT_MOTO_VENV_DIR } from '../workspace-paths.js';
import type { Closers } from './closers.js';

/** Key shapes s3rver cannot store although S3 does; printed whenever s3rver is chosen. */
const S3RVER_LIMITS =
  's3rver answers 404 for keys containing "//" (also a leading "/" after the prefix) and for "." or ".." segments, lists keys out of S3 byte order, and ignores checksums and conditional writes; use moto (the default) to back up every valid blob name';

/** The emulators every other part fronts or calls. */
export interface Emulators {
  azuriteBlob: RunningAzurite;
  azuriteQueue: RunningAzurite;
  s3: RunningS3;
  identity: IdentityPlane;
}

/** Starts Azurite's blob and queue services, the S3 endpoint and the identity plane side by side. */
export async function startEmulators(options: LocalCloudOptions, closers: Closers, log: Log): Promise<Emulators> {
  const defaultPorts = options.ports === 'default';
  const azuriteDir = options.persistDir && join(options.persistDir, 'azurite');
  // allSettled, not all: a part that starts after another failed must still be registered for closing.
  const [blob, queue, s3, identity] = await Promise.allSettled([
    // With default ports the storage-events proxy takes the well-known blob port; Azurite sits behind it.
    startAzurite({ service: 'blob', port: 0, persistDir: azuriteDir }),
    startAzurite({ service: 'queue', port: defaultPorts ? DEFAULT_PORTS.queue : 0, persistDir: azuriteDir }),
    startS3(options, log),
    startIdentityPlane({
      host: '127.0.0.1',
      port: defaultPorts ? DEFAULT_PORTS.identity : 0,
      tokenLifetimeSeconds: options.tokenLifetimeSeconds,
      audience: DEFAULT_AUDIENCE,
    }),
  ]);
  if (blob.status === 'fulfilled') closers.add(() => blob.value.child.stop());
  if (queue.status === 'fulfilled') closers.add(() => queue.value.child.stop());
  if (s3.status === 'fulfilled') closers.add(() => s3.value.stop());
  if (identity.status === 'fulfilled') closers.add(() => identity.value.close());
  return { azuriteBlob: started(blob), azuriteQueue: started(queue), s3: started(s3), identity: started(identity) };
}

function started<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

async function startS3(options: LocalCloudOptions, log: Log): Promise<RunningS3> {
  const s3 = options.s3 ?? 'moto';
  // An emulator sits behind the IAM gateway, which takes the public port.
  const port = 0;
  if (s3 === 's3rver') {
    log({ level: 'warn', msg: 's3rver is a fallback S3 that loses some valid keys', limits: S3RVER_LIMITS });
    return startS3rver({ port, persistDir: options.persistDir && join(options.persistDir, 's3rver') });
  }
  if (s3 === 'moto') {
    if (options.persistDir) log({ level: 'warn', msg: 'moto keeps data in memory only; --persist applies to Azurite' });
    return startMoto({ port, venvDir: options.motoVenvDir ?? DEFAULT_MOTO_VENV_DIR, log });
  }
  return {
    kind: 'external',
    endpoint: s3.endpoint.replace(/\/+$/, ''),
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    region: s3.region,
    features: s3.features ?? { checksum: 'CRC32', conditionalWrites: true },
    children: [],
    stop: async () => undefined,
  };
}
