import { app } from '@azure/functions';
import { handleBackfillBatch } from './backup-batch.js';
import { eventOfMessage, handleBlobEvent, type BackupDeps } from './backup-blob.js';
import { type BackupClients, createClients } from './clients.js';
import {
  INVENTORY_QUEUE_NAME,
  isBackfillBatch,
  QUEUE_CONNECTION,
  QUEUE_NAME_SETTING,
  SWEEP_QUEUE_NAME,
  type QueueConnectionResult,
  type SettingsResult,
} from '@blobferry/contract';
import { healthResponse } from './health.js';
import { errorSummary } from './redact.js';
import { createSharedState } from './state/shared-state.js';
import { planSweepRun, startInventorySweep, sweepRunSlice, type SweepDeps } from './sweep.js';
import { startAzureMonitor } from './telemetry.js';

/** infra/bicep's role assignments and the local host's logs name these functions. */
export const BACKUP_FUNCTION_NAME = 'backupBlob';
export const SWEEP_PLAN_FUNCTION_NAME = 'sweep';
export const SWEEP_SLICE_FUNCTION_NAME = 'sweepSlice';
export const INVENTORY_SWEEP_FUNCTION_NAME = 'inventorySweep';

export interface RegisterBackupAppOptions {
  /** The backup queue as the trigger's connection settings name it (contract `queueConnectionOf`). */
  queue: QueueConnectionResult;
  /** Replace the ones built from the configuration (tests). */
  clients?: BackupClients;
  /** The app settings as the runtime gives them (default: the process's environment). */
  env?: Record<string, string | undefined>;
}

/**
 * Registers the backup function (a queue trigger: one Event Grid event, or one backfill batch, per message), the sweep's timer and
 * slice functions (and, with inventories configured, the trigger that starts a sweep when a report completes),
 * and GET /api/health. A bad configuration does not stop the app from loading: every message
 * then throws (so it is retried and finally kept in the poison queue, never lost, while someone fixes the
 * setting) and /api/health names the broken settings.
 */
export function registerBackupApp(settings: SettingsResult, o: RegisterBackupAppOptions): void {
  const configResult = withQueueConnection(settings, o.queue);
  let deps: BackupDeps | undefined;
  let sweep: SweepDeps | undefined;
  if (configResult.ok && o.queue.ok) {
    const clients = o.clients ?? createClients(configResult.config, { queue: o.queue.connection });
    deps = { config: configResult.config, clients, state: createSharedState(clients.stateContainer) };
    sweep = {
      config: configResult.config,
      clients,
      queues: clients.queueService,
      state: clients.stateContainer,
      env: o.env ?? process.env,
    };
    const connectionString = configResult.config.APPLICATIONINSIGHTS_CONNECTION_STRING;
    if (connectionString) {
      // The same credential as Azure Storage and STS: one identity, one token cache.
      startAzureMonitor(connectionString, clients.azureCredential).catch((error: unknown) =>
        console.error(JSON.stringify({ event: 'startup', problem: 'Application Insights export not started', error: errorSummary(error) })),
      );
    }
  } else {
    console.error(
      JSON.stringify({ event: 'startup', problem: 'invalid app settings', errors: configResult.ok ? [] : configResult.errors }),
    );
  }
  const invalidSettings = configResult.ok ? '' : configResult.errors.join('; ');

  app.storageQueue(BACKUP_FUNCTION_NAME, {
    queueName: `%${QUEUE_NAME_SETTING}%`,
    connection: QUEUE_CONNECTION,
    handler: async (message, context) => {
      if (!deps) throw new Error(`invalid app settings, fix them and the message will be retried: ${invalidSettings}`);
      const received = eventOfMessage(message);
      if (isBackfillBatch(received)) await handleBackfillBatch(received, context, deps);
      else await handleBlobEvent(received, context, deps);
    },
  });

  const sweepDeps = (): SweepDeps => {
    if (!sweep) throw new Error(`invalid app settings, fix them and the sweep will run: ${invalidSettings}`);
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
  // At scale: an account's inventory report completing starts its sweep (only with inventories configured, so
  // that a deployment without them needs no inventory queue).
  if (configResult.ok && configResult.config.INVENTORY_AZURE) {
    app.storageQueue(INVENTORY_SWEEP_FUNCTION_NAME, {
      queueName: INVENTORY_QUEUE_NAME,
      connection: QUEUE_CONNECTION,
      handler: (message, context) => startInventorySweep(message, context, sweepDeps()),
    });
  }

  // authLevel 'function': the report names the bucket, region and allowed sources and each call
  // may reach STS, so it is not for anonymous callers; monitors send the key as x-functions-key.
  app.http('health', {
    route: 'health',
    methods: ['GET'],
    authLevel: 'function',
    handler: () => healthResponse(configResult, deps),
  });
}

/** The settings, with the queue connection's problem among their errors when it has one. */
function withQueueConnection(settings: SettingsResult, queue: QueueConnectionResult): SettingsResult {
  if (queue.ok) return settings;
  return { ok: false, errors: [...(settings.ok ? [] : settings.errors), queue.error] };
}
