import { app } from '@azure/functions';
import { ManagedIdentityCredential } from '@azure/identity';
import { handleBlobEvent } from './backup-blob.js';
import { type BackupClients, createClients } from './clients.js';
import { loadConfig } from './config.js';
import { healthResponse } from './health.js';
import { errorSummary } from './redact.js';
import { startAzureMonitor } from './telemetry.js';

/** The Event Grid subscription in infra/bicep targets this function name. */
export const BACKUP_FUNCTION_NAME = 'backupBlob';

// Settings are read once, at start-up. A bad configuration does not stop the app from loading:
// the backup function then throws on every event (Event Grid retries, then dead-letters, so no
// event is lost while someone fixes the setting) and /api/health names the broken settings.
const configResult = loadConfig(process.env);
let clients: BackupClients | undefined;
if (configResult.ok) {
  clients = createClients(configResult.config);
  const connectionString = configResult.config.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (connectionString) {
    const { AZURE_CLIENT_ID: clientId } = configResult.config;
    const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
    startAzureMonitor(connectionString, credential).catch((error: unknown) =>
      console.error(JSON.stringify({ event: 'startup', problem: 'Application Insights export not started', error: errorSummary(error) })),
    );
  }
} else {
  console.error(JSON.stringify({ event: 'startup', problem: 'invalid app settings', errors: configResult.errors }));
}

app.eventGrid(BACKUP_FUNCTION_NAME, {
  handler: async (event, context) => {
    if (!configResult.ok || !clients) {
      throw new Error(`invalid app settings, fix them and the event will be retried: ${configResult.ok ? '' : configResult.errors.join('; ')}`);
    }
    await handleBlobEvent(event, context, { config: configResult.config, clients });
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
