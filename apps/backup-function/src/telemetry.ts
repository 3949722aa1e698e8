import type { TokenCredential } from '@azure/identity';
import { type Attributes, type Counter, type Histogram, metrics, trace, type Tracer } from '@opentelemetry/api';

const INSTRUMENTATION_SCOPE = 'blobferry.backup-function';

interface Instruments {
  events: Counter;
  bytes: Counter;
  duration: Histogram;
  sweepBlobs: Counter;
  sweepDifferences: Counter;
  sweepMissedEvents: Counter;
  sweepDuration: Histogram;
}

let instruments: Instruments | undefined;

/**
 * The OpenTelemetry API hands out no-op meters until a provider is registered, so instruments
 * are made on first use and made again once Azure Monitor has registered its provider.
 */
function currentInstruments(): Instruments {
  if (!instruments) {
    const meter = metrics.getMeter(INSTRUMENTATION_SCOPE);
    instruments = {
      events: meter.createCounter('blobferry.backup.events', { description: 'Blob events handled, by outcome' }),
      bytes: meter.createCounter('blobferry.backup.bytes', { description: 'Bytes copied to S3', unit: 'By' }),
      duration: meter.createHistogram('blobferry.backup.duration', { description: 'Time to handle one event', unit: 'ms' }),
      sweepBlobs: meter.createCounter('blobferry.sweep.blobs', { description: 'Blobs a sweep run reconciled' }),
      sweepDifferences: meter.createCounter('blobferry.sweep.differences', { description: 'Differences a sweep run found, by kind' }),
      sweepMissedEvents: meter.createCounter('blobferry.sweep.missed_events', {
        description: 'Block blobs a sweep run repaired that an event should have announced (the alert)',
      }),
      sweepDuration: meter.createHistogram('blobferry.sweep.duration', {
        description: "Time from a sweep run's start to its report",
        unit: 'ms',
      }),
    };
  }
  return instruments;
}

export function tracer(): Tracer {
  return trace.getTracer(INSTRUMENTATION_SCOPE);
}

export function recordEvent(outcome: string, durationMs: number, bytes: number, attributes: Attributes = {}): void {
  const measured = currentInstruments();
  const labels = { outcome, ...attributes };
  measured.events.add(1, labels);
  measured.duration.record(durationMs, labels);
  if (bytes > 0) measured.bytes.add(bytes, labels);
}

/** One sweep run's report as metrics: what the alert on missed events and the dashboards read. */
export function recordSweepReport(report: {
  blobs: number;
  counts: Record<string, number>;
  missedEvents: number;
  durationMs: number;
}): void {
  const measured = currentInstruments();
  measured.sweepBlobs.add(report.blobs);
  for (const [kind, count] of Object.entries(report.counts))
    if (kind !== 'inSync' && count > 0) measured.sweepDifferences.add(count, { kind });
  measured.sweepMissedEvents.add(report.missedEvents);
  measured.sweepDuration.record(report.durationMs);
}

/**
 * Sends traces, metrics and logs to Application Insights. Loaded only when a connection string
 * is configured: the exporter and its SDK are large and have no work to do otherwise. Ingestion
 * is authenticated with the Function's managed identity (it holds Monitoring Metrics Publisher),
 * so Application Insights may refuse key-only ingestion.
 */
export async function startAzureMonitor(connectionString: string, credential: TokenCredential): Promise<void> {
  const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
  useAzureMonitor({ azureMonitorExporterOptions: { connectionString, credential } });
  instruments = undefined;
}
