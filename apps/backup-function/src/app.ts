import { app } from '@azure/functions';
import { handleBlobEvent } from './backup-blob.js';
import { type BackupClients, createClients } from './clients.js';
import { QUEUE_CONNECTION, QUEUE_NAME_SETTING, SWEEP_QUEUE_NAME, type SettingsResult } from '@blobferry/contract';
import { healthResponse } from './health.js';
import { errorSummary } from './redact.js';
import { backupQueueService, stateContainer } from './storage.js';
import { planSweepRun, sweepRunSlice, type SweepDeps } from './sweep.js';
import { startAzureMonitor } from './telemetry.js';

/** infra/bicep's role assignments and the local host's logs name these functions. */
export const BACKUP_FUNCTION_NAME = 'backupBlob';
export const SWEEP_PLAN_FUNCTION_NAME = 'sweep';
export const SWEEP_SLICE_FUNCTION_NAME = 'sweepSlice';

/**
 * Registers the backup function (a queue trigger: one Event Grid event per message) and GET /api/health.
 * A bad configuration does not stop the app from loading: every message then throws (so it is retried and
 * finally kept in the poison queue, never lost, while someone fixes the setting) and /api/health names
 * the broken settings. `clients` replaces the ones built from the configuration (tests).
 */
export function registerBackupApp(
  configResult: SettingsResult,
  deps: { clients?: BackupClients; env?: Record<string, string | undefined> } = {},
): void {
  const env = deps.env ?? process.env;
  let clients: BackupClients | undefined;
  let sweep: SweepDeps | undefined;
  let sweepProblem = configResult.ok ? '' : `invalid app settings: ${configResult.errors.join('; ')}`;
  if (configResult.ok) {
    clients = deps.clients ?? createClients(configResult.config);
    try {
      sweep = {
        config: configResult.config,
        clients,
        queues: backupQueueService(env, clients.azureCredential),
        state: stateContainer(configResult.config, clients.azureCredential),
        env,
      };
    } catch (error) {
      sweepProblem = errorSummary(error);
      console.error(JSON.stringify({ event: 'startup', problem: 'the sweep cannot run', error: sweepProblem }));
    }
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

  const sweepDeps = (): SweepDeps => {
    if (!sweep)
      throw new Error(`invalid app settings, fix them and the sweep will run: ${configResult.ok ? '' : configResult.errors.join('; ')}`);
    return sweep;
  };
  // The safety net under the events: the timer plans a run per occurrence, the fleet sweeps its slices.
  app.timer(SWEEP_PLAN_FUNCTION_NAME, {
    schedule: '%SWEEP_SCHEDULE%',
    handler: (timer, context) => planSweepRun(timer, context, sweepDeps()),
  });
  app.storageQueue(SWEEP_SLICE_FUNCTION_NAME, {
    queueName: SWEEP_QUEUE_NAME,
    connection: QUEUE_CONNECTION,
    handler: (message, context) => sweepRunSlice(message, context, sweepDeps()),
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
