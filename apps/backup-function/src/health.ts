import type { HttpResponseInit } from '@azure/functions';
import { assertVersioningEnabled } from '@blobferry/transfer';
import type { BackupClients } from './clients.js';
import type { SettingsResult } from '@blobferry/contract';
import { errorSummary } from './redact.js';

/** How long each probe of the health check (credentials, bucket versioning) may take. */
const PROBE_TIMEOUT_MS = 15_000;

export interface HealthReport {
  status: 'healthy' | 'unhealthy';
  config:
    | {
        valid: true;
        bucket: string;
        prefix: string;
        region: string;
        keyLayout: string;
        deletePolicy: string;
        allowedSources: string[];
        identity: 'user-assigned' | 'system-assigned';
      }
    | { valid: false; errors: string[] };
  /** Whether AWS credentials can be obtained right now; only their expiration is ever shown. */
  credentials: { obtained: true; expiration: string | undefined } | { obtained: false; error: string };
  /** With DELETE_POLICY=delete-marker only: whether the bucket's versioning lets a delete only add a marker. */
  deleteMarkers?: { safe: true } | { safe: false; error: string };
}

async function probeCredentials(clients: BackupClients): Promise<HealthReport['credentials']> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no credentials within ${PROBE_TIMEOUT_MS / 1000} s: is the identity endpoint or STS reachable?`)),
        PROBE_TIMEOUT_MS,
      );
    });
    const credentials = await Promise.race([clients.awsCredentials(), timeout]);
    return { obtained: true, expiration: credentials.expiration?.toISOString() };
  } catch (error) {
    return { obtained: false, error: errorSummary(error) };
  } finally {
    clearTimeout(timer);
  }
}

async function probeDeleteMarkers(clients: BackupClients, bucket: string): Promise<NonNullable<HealthReport['deleteMarkers']>> {
  try {
    await assertVersioningEnabled({ s3: clients.s3, bucket, abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    return { safe: true };
  } catch (error) {
    return { safe: false, error: errorSummary(error) };
  }
}

export async function checkHealth(configResult: SettingsResult, clients: BackupClients | undefined): Promise<HealthReport> {
  if (!configResult.ok || !clients) {
    return {
      status: 'unhealthy',
      config: { valid: false, errors: configResult.ok ? ['clients could not be created'] : configResult.errors },
      credentials: { obtained: false, error: 'not attempted: the configuration is invalid' },
    };
  }
  const { config } = configResult;
  const credentials = await probeCredentials(clients);
  const deleteMarkers =
    config.DELETE_POLICY === 'delete-marker' && credentials.obtained ? await probeDeleteMarkers(clients, config.BACKUP_BUCKET) : undefined;
  return {
    status: credentials.obtained && deleteMarkers?.safe !== false ? 'healthy' : 'unhealthy',
    config: {
      valid: true,
      bucket: config.BACKUP_BUCKET,
      prefix: config.BACKUP_PREFIX,
      region: config.AWS_REGION,
      keyLayout: config.KEY_LAYOUT,
      deletePolicy: config.DELETE_POLICY,
      allowedSources: config.ALLOWED_SOURCES.map((entry) => `${entry.account}/${entry.container}`),
      identity: config.AZURE_CLIENT_ID ? 'user-assigned' : 'system-assigned',
    },
    credentials,
    ...(deleteMarkers ? { deleteMarkers } : {}),
  };
}

export async function healthResponse(configResult: SettingsResult, clients: BackupClients | undefined): Promise<HttpResponseInit> {
  const report = await checkHealth(configResult, clients);
  return {
    status: report.status === 'healthy' ? 200 : 503,
    jsonBody: report,
    headers: { 'cache-control': 'no-store' },
  };
}
