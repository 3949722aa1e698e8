import { metrics, trace } from '@opentelemetry/api';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupDeps, handleBlobEvent } from '../src/backup-blob.js';
import { parseBackupSettings } from '@blobferry/contract';
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

/** Deps whose every part throws: a refused event touches none of them. */
function untouchedDeps(config: BackupDeps['config']): BackupDeps {
  const untouched = (): never => {
    throw new Error('not used by these tests');
  };
  return {
    config,
    get clients(): never {
      return untouched();
    },
    get state(): never {
      return untouched();
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
    await handleBlobEvent(
      { id: 'evt-otel', eventType: 'Microsoft.Storage.DirectoryCreated', data: {} },
      invocationContext(logs),
      untouchedDeps(configResult.config),
    );
    const span = spans.getFinishedSpans().find((candidate) => candidate.name === 'backupBlob');
    expect(span?.attributes).toMatchObject({ 'blobferry.event_id': 'evt-otel', 'blobferry.outcome': 'refused' });

    await metricReader.forceFlush();
    const exported = metricExporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics));
    const events = exported.find((metric) => metric.descriptor.name === 'blobferry.backup.events');
    expect(events?.dataPoints.some((point) => point.attributes.outcome === 'refused' && point.value === 1)).toBe(true);
    expect(exported.some((metric) => metric.descriptor.name === 'blobferry.backup.duration')).toBe(true);
  });
});
