import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from '@blobferry/local-cloud';
import type { SettingName } from '../src/config.js';
import { appSettingsForStack } from './app-settings.js';
import { type FunctionsHost, startFunctionsHost } from './host.js';

export const DEFAULT_STACK_FILE = fileURLToPath(new URL('../../../.local-cloud/stack.json', import.meta.url));

export interface BackupStackOptions {
  /** Written only once the host can back up any blob uploaded from then on; removed on stop. */
  stackFile?: string | false;
  settings?: Partial<Record<SettingName, string>>;
  localCloud?: Omit<LocalCloudOptions, 'events' | 'stackFile'> & { events?: Omit<NonNullable<LocalCloudOptions['events']>, 'webhookUrl' | 'handler'> };
  log?: (entry: Record<string, unknown>) => void;
}

export interface BackupStack {
  cloud: LocalCloud;
  host: FunctionsHost;
  settings: Record<string, string>;
  stop(): Promise<void>;
}

async function writeStackFile(path: string, content: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

/**
 * The local cloud plus the Functions host, wired like production: Event Grid webhook deliveries
 * to `backupBlob`, settings as app settings (process.env), the app loaded from src/index.ts.
 * The host listens first (answering 503 until the app is loaded) because the event feed needs
 * its webhook URL, and the app needs the stack's endpoints before it can read its settings.
 */
export async function startBackupStack(options: BackupStackOptions = {}): Promise<BackupStack> {
  const host = await startFunctionsHost({ ...(options.log ? { log: options.log } : {}) });
  let cloud: LocalCloud | undefined;
  try {
    cloud = await startLocalCloud({
      ...options.localCloud,
      ...(options.log ? { log: options.log } : {}),
      events: { ...options.localCloud?.events, webhookUrl: host.eventGridWebhookUrl('backupBlob') },
    });
    const settings = appSettingsForStack(cloud.stack, options.settings);
    Object.assign(process.env, settings);
    const functions = await host.loadApp();
    if (!functions.includes('backupBlob')) throw new Error(`the app registered ${functions.join(', ')} but no backupBlob`);
    // Ready means able to copy: valid settings and AWS credentials obtainable (this also warms the
    // shared STS session before the first event).
    const health = await fetch(`${host.baseUrl}/api/health`);
    if (health.status !== 200) throw new Error(`the backup function is not healthy: ${await health.text()}`);
    const stackFile = options.stackFile;
    if (stackFile) await writeStackFile(stackFile, cloud.stack);
    const running = cloud;
    let stopping: Promise<void> | undefined;
    return {
      cloud: running,
      host,
      settings,
      stop: () => {
        stopping ??= (async () => {
          if (stackFile) await rm(stackFile, { force: true });
          await running.stop();
          await host.stop();
        })();
        return stopping;
      },
    };
  } catch (error) {
    await cloud?.stop();
    await host.stop();
    throw error;
  }
}
