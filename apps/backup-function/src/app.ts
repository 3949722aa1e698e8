import { app } from '@azure/functions';
import { handleBlobEvent } from './backup-blob.js';
import { type BackupClients, createClients } from './clients.js';
import { QUEUE_CONNECTION, QUEUE_NAME_SETTING, type SettingsResult } from '@blobferry/contract';
import { healthResponse } from './health.js';
import { errorSummary } from './redact.js';
import { startAzureMonitor } from './telemetry.js';

/** infra/bicep's role assignments and the local host's logs name this function. */
export const BACKUP_FUNCTION_NAME = 'backupBlob';

/**
 * Registers the backup function (a queue trigger: one Event Grid event per message) and GET /api/health.
 * A bad configuration does not stop the app from loading: every message then throws (so it is retried and
 * finally kept in the poison queue, never lost, while someone fixes the setting) and /api/health names
 * the broken settings. `clients` replaces the ones built from the configuration (tests).
 */
export function registerBackupApp(configResult: SettingsResult, deps: { clients?: BackupClients } = {}): void {
  let clients: BackupClients | undefined;
  if (configResult.ok) {
    clients = deps.clients ?? createClients(configResult.config);
    const connectionString = configResult.config.APPLICATIONINSIGHTS_CONNECTION_STRING;
    if (connectionString) {
      // The same credential as Azure Storage and STS: one identity, one token cache.
      startAzureMonitor(connectionString, clients.azureCredential).catch((error: unknown) =>
        console.error(JSON.stringify({ event: 'startup', problem: 'Application Insights export not started', error: errorSummary(error) })),
      );
    }
  } else {
    console.error(JSON.stringify({ event: 'startup', problem: 'invalid app settings', errors: configResult.errors }));
  }

  app.storageQueue(BACKUP_FUNCTION_NAME, {
    queueName: `%${QUEUE_NAME_SETTING}%`,
    connection: QUEUE_CONNECTION,
    handler: async (message, context) => {
      if (!configResult.ok || !clients) {
        throw new Error(
          `invalid app settings, fix them and the message will be retried: ${configResult.ok ? '' : configResult.errors.join('; ')}`,
        );
      }
      await handleBlobEvent(message, context, { config: configResult.config, clients });
    },
  });

  // authLevel 'function': the report names the bucket, region and allowed sources and each call
  // may reach STS, so it is not for anonymous callers; monitors send the key as x-functions-key.
  app.http('health', {
    route: 'health',
    methods: ['GET'],
    authLevel: 'function',
    handler: () => healthResponse(configResult, clients),
  });
}
