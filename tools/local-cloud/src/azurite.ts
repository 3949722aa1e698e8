import { createRequire } from 'node:module';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { BlobServiceClient } from '@azure/storage-blob';
import { spawnChild, type ManagedChild } from './child-process.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from './constants.js';

export interface RunningAzurite {
  child: ManagedChild;
  /** `http://127.0.0.1:PORT` (no account segment). */
  origin: string;
}

const require = createRequire(import.meta.url);
/** Loaded into each Azurite process: see the file for the emulator cost it removes. */
const AZURITE_PRELOAD = fileURLToPath(new URL('../preload/azurite-lokijs.cjs', import.meta.url));

export interface StartAzuriteOptions {
  service: 'blob' | 'queue';
  port: number;
  persistDir?: string;
}

/** Starts one Azurite service (pinned package) and resolves once it listens. Port 0 picks a free port. */
export async function startAzurite(o: StartAzuriteOptions): Promise<RunningAzurite> {
  const main = require.resolve(`azurite/dist/src/${o.service}/main.js`);
  // --silent: no access-log line per request, which nobody reads and which cost both Azurite and this
  // process CPU on the cores the tools under test share (start-up messages and errors still print).
  const args = [
    '--require',
    AZURITE_PRELOAD,
    main,
    '--disableTelemetry',
    '--skipApiVersionCheck',
    '--silent',
    `--${o.service}Host`,
    '127.0.0.1',
    `--${o.service}Port`,
    String(o.port),
  ];
  if (o.persistDir) {
    await mkdir(o.persistDir, { recursive: true });
    args.push('--location', o.persistDir);
  } else {
    args.push('--inMemoryPersistence');
  }
  const child = spawnChild({
    name: `azurite-${o.service}`,
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

/** One connection string for both services, as the Azure portal gives for an account. */
export function azuriteConnectionString(endpoints: { blob: string; queue?: string }): string {
  const queue = endpoints.queue ? `QueueEndpoint=${endpoints.queue};` : '';
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${endpoints.blob};${queue}`;
}

/** Creates the container if missing: also the first real request, proving Azurite answers. */
export async function ensureContainer(connectionString: string, container: string): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  await service.getContainerClient(container).createIfNotExists();
}
