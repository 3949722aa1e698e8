import type { HttpResponseInit } from '@azure/functions';
import { assertVersioningEnabled } from '@blobferry/transfer';
import type { BackupDeps } from './backup-blob.js';
import type { BackupClients } from './clients.js';
import type { Dependency, SettingsResult } from '@blobferry/contract';
import { errorSummary } from './redact.js';
import type { SharedState } from './state/shared-state.js';
import type { DependencyStatus } from './state/outages.js';

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
  /**
   * Which of S3, STS and the source has been failing since when, as any instance recorded it in the state
   * container (the first failure of an outage writes it, the first success after it removes it).
   */
  dependencies?: Record<Dependency, DependencyStatus> | { unreadable: string };
  /** How many blobs have a recorded permanent failure (`failures/` in the state container). */
  permanentFailures?: { count: number } | { unreadable: string };
}

/** `work`, or a rejection saying what did not answer within PROBE_TIMEOUT_MS. */
async function withinProbeTimeout<T>(work: Promise<T>, question: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s: ${question}`)), PROBE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function probeCredentials(clients: BackupClients): Promise<HealthReport['credentials']> {
  try {
    const credentials = await withinProbeTimeout(clients.awsCredentials(), 'no credentials: is the identity endpoint or STS reachable?');
    return { obtained: true, expiration: credentials.expiration?.toISOString() };
  } catch (error) {
    return { obtained: false, error: errorSummary(error) };
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

async function readSharedState(state: SharedState): Promise<Pick<HealthReport, 'dependencies' | 'permanentFailures'>> {
  const question = 'is the state container (STATE_CONTAINER_URL) reachable?';
  const [dependencies, count] = await Promise.allSettled([
    withinProbeTimeout(state.outages.report(), question),
    withinProbeTimeout(state.failures.count(), question),
  ]);
  return {
    dependencies: dependencies.status === 'fulfilled' ? dependencies.value : { unreadable: errorSummary(dependencies.reason) },
    permanentFailures: count.status === 'fulfilled' ? { count: count.value } : { unreadable: errorSummary(count.reason) },
  };
}

/** Healthy when the settings are valid, credentials come, deletes are safe, the shared state reads, and no dependency fails. */
function isHealthy(report: Omit<HealthReport, 'status'>): boolean {
  const dependencies = report.dependencies;
  const failing =
    dependencies === undefined || 'unreadable' in dependencies || Object.values(dependencies).some((status) => status.failing);
  return (
    report.credentials.obtained &&
    report.deleteMarkers?.safe !== false &&
    !failing &&
    !(report.permanentFailures && 'unreadable' in report.permanentFailures)
  );
}

export async function checkHealth(
  configResult: SettingsResult,
  deps: Pick<BackupDeps, 'clients' | 'state'> | undefined,
): Promise<HealthReport> {
  if (!configResult.ok || !deps) {
    return {
      status: 'unhealthy',
      config: { valid: false, errors: configResult.ok ? ['clients could not be created'] : configResult.errors },
      credentials: { obtained: false, error: 'not attempted: the configuration is invalid' },
    };
  }
  const { config } = configResult;
  const { clients } = deps;
  const [credentials, shared] = await Promise.all([probeCredentials(clients), readSharedState(deps.state)]);
  const deleteMarkers =
    config.DELETE_POLICY === 'delete-marker' && credentials.obtained ? await probeDeleteMarkers(clients, config.BACKUP_BUCKET) : undefined;
  const report: Omit<HealthReport, 'status'> = {
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
    ...shared,
  };
  return { status: isHealthy(report) ? 'healthy' : 'unhealthy', ...report };
}

export async function healthResponse(
  configResult: SettingsResult,
  deps: Pick<BackupDeps, 'clients' | 'state'> | undefined,
): Promise<HttpResponseInit> {
  const report = await checkHealth(configResult, deps);
  return {
    status: report.status === 'healthy' ? 200 : 503,
    jsonBody: report,
    headers: { 'cache-control': 'no-store' },
  };
}
