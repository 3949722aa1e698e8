import { fileURLToPath } from 'node:url';
import { serveEventWebhook } from './event-webhook.js';
import { workerArgs } from './worker-io.js';

// The real backup function: apps/backup-function's local Functions host (dev/host.ts) with the app loaded from its
// sources, settings from its dev/app-settings.ts, credentials through the local identity plane and STS. It runs in
// this process, behind a pass-through webhook that notes when each delivery succeeded (the host answers 200 only
// once the invocation, and so the copy, is done). Needs `node --conditions=@blobferry/source --import tsx`, like
// `npm start`. The host is loaded by path at run time: the bench is a tool and may not import an app.

interface FunctionsHost {
  eventGridWebhookUrl(functionName: string): string;
  loadApp(): Promise<string[]>;
}

const args = workerArgs<{ keyPrefix: string; partSize?: number; concurrency?: number }>();
const appRoot = new URL('../../../apps/backup-function/', import.meta.url);
const hostModule = (await import(new URL('dev/host.ts', appRoot).href)) as {
  startFunctionsHost(o: { log?: (entry: Record<string, unknown>) => void }): Promise<FunctionsHost>;
};
const settingsModule = (await import(new URL('dev/app-settings.ts', appRoot).href)) as {
  appSettingsForStack(stack: unknown, overrides: Record<string, string>): Record<string, string>;
};
const host = await hostModule.startFunctionsHost({
  log: (entry) => {
    if (entry.level === 'error' || entry.level === 'warn' || entry.level === 'warning') process.stderr.write(`${JSON.stringify(entry)}\n`);
  },
});
const webhook = host.eventGridWebhookUrl('backupBlob');
process.stderr.write(`function host: ${fileURLToPath(appRoot)}\n`);

serveEventWebhook(async (stack) => {
  const overrides: Record<string, string> = {
    BACKUP_PREFIX: args.keyPrefix,
    ALLOWED_SOURCES: `${(stack as { azure: { accountName: string } }).azure.accountName}/*`,
  };
  if (args.partSize) overrides.PART_SIZE = String(args.partSize);
  if (args.concurrency) overrides.CONCURRENCY = String(args.concurrency);
  Object.assign(process.env, settingsModule.appSettingsForStack(stack, overrides));
  const functions = await host.loadApp();
  if (!functions.includes('backupBlob')) throw new Error(`the app registered ${functions.join(', ')}, no backupBlob`);
  return async (_events, body) => {
    const response = await fetch(webhook, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' },
      body,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`function answered ${response.status}: ${text.slice(0, 300)}`);
  };
});
