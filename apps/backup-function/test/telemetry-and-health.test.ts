import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleBlobEvent } from '../src/backup-blob.js';
import type { BackupClients } from '../src/clients.js';
import { parseBackupSettings } from '@blobferry/contract';
import { healthResponse } from '../src/health.js';
import { type CapturedLog, invocationContext } from './support.js';

// The handler's OpenTelemetry output, read back through in-memory exporters of the real SDK.
const spans = new InMemorySpanExporter();
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const metricReader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 60_000 });

const configResult = parseBackupSettings({
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/blobferry-backup',
  AWS_REGION: 'eu-west-1',
  BACKUP_BUCKET: 'bucket-name',
  ALLOWED_SOURCES: 'account/container',
  STATE_CONTAINER_URL: 'https://hostaccount.blob.core.windows.net/blobferry-state',
  SWEEP_SCHEDULE: '0 0 */6 * * *',
});
if (!configResult.ok) throw new Error(configResult.errors.join('; '));

function clientsWith(awsCredentials: BackupClients['awsCredentials']): BackupClients {
  return {
    awsCredentials,
    get azureCredential(): never {
      throw new Error('not used by these tests');
    },
    get s3(): never {
      throw new Error('not used by these tests');
    },
    blobClientFor: () => {
      throw new Error('not used by these tests');
    },
    blobServiceFor: () => {
      throw new Error('not used by these tests');
    },
  };
}

beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [metricReader] }));
});
afterAll(() => {
  trace.disable();
  metrics.disable();
});

describe('telemetry', () => {
  it('records a backupBlob span and an outcome-labelled event count and duration per event', async () => {
    const logs: CapturedLog[] = [];
    await handleBlobEvent({ id: 'evt-otel', eventType: 'Microsoft.Storage.BlobTierChanged', data: {} }, invocationContext(logs), {
      config: configResult.config,
      clients: clientsWith(async () => ({ accessKeyId: 'A', secretAccessKey: 'S' })),
    });
    const span = spans.getFinishedSpans().find((candidate) => candidate.name === 'backupBlob');
    expect(span?.attributes).toMatchObject({ 'blobferry.event_id': 'evt-otel', 'blobferry.outcome': 'refused' });

    await metricReader.forceFlush();
    const exported = metricExporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    const events = exported.find((metric) => metric.descriptor.name === 'blobferry.backup.events');
    expect(events?.dataPoints.some((point) => point.attributes.outcome === 'refused' && point.value === 1)).toBe(true);
    expect(exported.some((metric) => metric.descriptor.name === 'blobferry.backup.duration')).toBe(true);
  });
});

describe('GET /api/health', () => {
  it('answers 200 with the expiration only when credentials can be obtained', async () => {
    const expiration = new Date(Date.now() + 3_600_000);
    const response = await healthResponse(
      configResult,
      clientsWith(async () => ({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'very-secret', sessionToken: 'session-token', expiration })),
    );
    expect(response.status).toBe(200);
    const text = JSON.stringify(response.jsonBody);
    expect(response.jsonBody).toMatchObject({ status: 'healthy', credentials: { obtained: true, expiration: expiration.toISOString() } });
    for (const secret of ['ASIAEXAMPLE', 'very-secret', 'session-token']) expect(text).not.toContain(secret);
  });

  it('answers 503 naming the broken settings', async () => {
    const response = await healthResponse(parseBackupSettings({ AWS_REGION: 'nowhere' }), undefined);
    expect(response.status).toBe(503);
    const body = response.jsonBody as { config: { valid: boolean; errors: string[] } };
    expect(body.config.valid).toBe(false);
    expect(body.config.errors.some((error) => error.startsWith('AWS_REGION:'))).toBe(true);
    expect(body.config.errors.some((error) => error.startsWith('AWS_ROLE_ARN:'))).toBe(true);
  });

  it('answers 503 with the reason when credentials fail, without any token in it', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const response = await healthResponse(
      configResult,
      clientsWith(async () => {
        throw new Error(`AccessDenied: not admitted (token ${jwt}) at https://sts.example.com/?X-Amz-Signature=abc`);
      }),
    );
    expect(response.status).toBe(503);
    const text = JSON.stringify(response.jsonBody);
    expect(text).toContain('AccessDenied: not admitted');
    expect(text).not.toContain(jwt);
    expect(text).not.toContain('X-Amz-Signature=abc');
  });
});
