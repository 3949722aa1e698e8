import { createRequire } from 'node:module';
import { mkdir } from 'node:fs/promises';
import { BlobServiceClient } from '@azure/storage-blob';
import { spawnChild, type ManagedChild } from './child-process.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from './constants.js';

export interface RunningAzurite {
  child: ManagedChild;
  /** `http://127.0.0.1:PORT` (no account segment). */
  origin: string;
}

const require = createRequire(import.meta.url);

/** Starts Azurite's blob service (pinned package) and resolves once it listens. Port 0 picks a free port. */
export async function startAzurite(o: { port: number; persistDir?: string }): Promise<RunningAzurite> {
  const blobMain = require.resolve('azurite/dist/src/blob/main.js');
  const args = [blobMain, '--disableTelemetry', '--skipApiVersionCheck', '--blobHost', '127.0.0.1', '--blobPort', String(o.port)];
  if (o.persistDir) {
    await mkdir(o.persistDir, { recursive: true });
    args.push('--location', o.persistDir);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawnChild({
    name: 'azurite',
    command: process.execPath,
    args,
    readyPattern: /successfully listens on (http:\/\/[^\s]+)/,
    cwd: o.persistDir,
  });
  try {
    const match = await child.ready;
    return { child, origin: match[1] as string };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

export function azuriteConnectionString(blobEndpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`;
}

/** Creates the container if missing: also the first real request, proving Azurite answers. */
export async function ensureContainer(connectionString: string, container: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  await service.getContainerClient(container).createIfNotExists();
}
