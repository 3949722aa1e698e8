import type { InvocationContext, Timer } from '@azure/functions';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueServiceClient } from '@azure/storage-queue';
import { QUEUE_NAME_SETTING, SWEEP_QUEUE_NAME, sweepSliceMessageSchema, type BackupSettings } from '@blobferry/contract';
import { planSweep, sweepRunId, sweepSlice, type SweepReport, type SweptContainer } from '@blobferry/sweep';
import { keyMappingFor } from '@blobferry/transfer';
import type { BackupClients } from './clients.js';
import { errorSummary } from './redact.js';
import { replayParked } from './replay-parked.js';
import { recordSweepReport } from './telemetry.js';

// The scheduled sweep's two functions: a timer that plans a run, and a queue trigger that sweeps its
// slices (libs/sweep). The fleet scales out on the sweep queue as it does on the backup queue.

export interface SweepDeps {
  config: BackupSettings;
  clients: BackupClients;
  /** The account of the backup queue: the sweep queue and the backup queue. */
  queues: QueueServiceClient;
  state: ContainerClient;
  /** The app settings as the runtime gives them (the backup queue's name). */
  env: Record<string, string | undefined>;
}

/** Every container of ALLOWED_SOURCES, `account/*` listed. */
async function sweptContainers(deps: SweepDeps, abortSignal?: AbortSignal): Promise<SweptContainer[]> {
  const containers: SweptContainer[] = [];
  for (const { account, container } of deps.config.ALLOWED_SOURCES) {
    if (container !== '*') {
      containers.push({ account, container });
      continue;
    }
    for await (const listed of deps.clients.blobServiceFor(account).listContainers({ abortSignal }))
      containers.push({ account, container: listed.name });
  }
  return containers;
}

/** The timer: plans the run of this schedule occurrence (once, whichever instance fires first). */
export async function planSweepRun(timer: Timer, context: InvocationContext, deps: SweepDeps): Promise<void> {
  const runStartedAt = new Date();
  const runId = sweepRunId(deps.config.SWEEP_SCHEDULE, runStartedAt);
  const containers = await sweptContainers(deps);
  const planned = await planSweep({
    runId,
    runStartedAt,
    containers,
    sweepQueue: deps.queues.getQueueClient(SWEEP_QUEUE_NAME),
    state: deps.state,
  });
  context.info(JSON.stringify({ event: 'sweepPlan', runId, isPastDue: timer.isPastDue, containers: containers.length, ...planned }));
  if (!planned.planned) return;
  // What no rule could classify (the poison queue) and what Event Grid gave up on (its dead letters) go back
  // to the fleet every run, so that no blob waits for a person after an outage.
  const { poison, deadLetters } = await replayParked(deps.clients);
  context[deadLetters?.skipped.length ? 'warn' : 'info'](
    JSON.stringify({
      event: 'sweepReplay',
      runId,
      poisonMessages: poison.messages,
      deadLetterEvents: deadLetters?.events ?? 0,
      deadLettersSkipped: deadLetters?.skipped ?? [],
    }),
  );
}

/** The queue trigger: sweeps one slice; throwing lets the runtime deliver it again (then poison it). */
export async function sweepRunSlice(message: unknown, context: InvocationContext, deps: SweepDeps): Promise<void> {
  const parsed = sweepSliceMessageSchema.safeParse(message);
  if (!parsed.success) {
    // Not a slice this app wrote: nothing to retry.
    context.warn(
      JSON.stringify({ event: 'sweepSlice', outcome: 'refused', reason: parsed.error.issues[0]?.message ?? 'not a sweep slice' }),
    );
    return;
  }
  const slice = parsed.data;
  const { config, clients } = deps;
  const base = { event: 'sweepSlice', runId: slice.runId, source: `${slice.account}/${slice.container}`, slice: slice.slice };
  try {
    const outcome = await sweepSlice({
      message: slice,
      container: clients.blobServiceFor(slice.account).getContainerClient(slice.container),
      target: {
        s3: clients.s3,
        bucket: config.BACKUP_BUCKET,
        features: { checksum: config.S3_CHECKSUM, conditionalWrites: config.S3_CONDITIONAL_WRITES },
      },
      keys: keyMappingFor({ account: slice.account, container: slice.container, prefix: config.BACKUP_PREFIX, layout: config.KEY_LAYOUT }),
      backupQueue: deps.queues.getQueueClient(deps.env[QUEUE_NAME_SETTING] ?? ''),
      sweepQueue: deps.queues.getQueueClient(SWEEP_QUEUE_NAME),
      state: deps.state,
      eventLagMs: config.SWEEP_EVENT_LAG,
    });
    context.info(JSON.stringify({ ...base, outcome: outcome.status, ...(outcome.result ?? {}), more: outcome.next !== undefined }));
    if (outcome.report) reportSweep(outcome.report, context);
  } catch (error) {
    context.error(JSON.stringify({ ...base, outcome: 'will-retry', reason: errorSummary(error) }));
    throw error;
  }
}

function reportSweep(report: SweepReport, context: InvocationContext): void {
  recordSweepReport(report);
  // A missed event is what the alert is about: a warning a person should read; expected finds are information.
  context[report.missedEvents > 0 ? 'warn' : 'info'](JSON.stringify({ event: 'sweepReport', ...report }));
}
