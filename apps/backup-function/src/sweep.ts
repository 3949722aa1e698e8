import type { InvocationContext, Timer } from '@azure/functions';
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueServiceClient } from '@azure/storage-queue';
import { MAX_DEQUEUE_COUNT, QUEUE_NAME_SETTING, SWEEP_QUEUE_NAME, sweepSliceMessageSchema, type BackupSettings } from '@blobferry/contract';
import {
  lastInventoryRun,
  planSweep,
  sweepRunId,
  sweepSlice,
  type PlanSweepOptions,
  type SweepInventoryOptions,
  type SweepReport,
  type SweptContainer,
} from '@blobferry/sweep';
import { keyMappingFor } from '@blobferry/transfer';
import type { BackupClients } from './clients.js';
import { inventoryCompletedEventSchema, inventoryRunId, manifestBlobOf } from './inventory-completed.js';
import { errorSummary } from './redact.js';
import { replayParked } from './replay-parked.js';
import { Outages } from './state/outages.js';
import { STATE_LISTING_MAX_AGE_MS } from './state/shared-state.js';
import { recordSweepReport } from './telemetry.js';

// The scheduled sweep's functions: a timer that plans a run, a queue trigger that sweeps its slices
// (libs/sweep), and, with inventories configured (INVENTORY_AZURE, INVENTORY_S3), a queue trigger that starts a
// run from an account's reports when BlobInventoryPolicyCompleted arrives; the timer then lists only the
// accounts no report has covered within INVENTORY_MAX_AGE. The fleet scales out on the sweep queue as it
// does on the backup queue.

export interface SweepDeps {
  config: BackupSettings;
  clients: BackupClients;
  /** The account of the backup queue: the sweep queue and the backup queue. */
  queues: QueueServiceClient;
  state: ContainerClient;
  /** The app settings as the runtime gives them (the backup queue's name). */
  env: Record<string, string | undefined>;
}

/** Every container of ALLOWED_SOURCES (of one account, when named), `account/*` listed. */
async function sweptContainers(deps: SweepDeps, onlyAccount?: string): Promise<SweptContainer[]> {
  const containers: SweptContainer[] = [];
  for (const { account, container } of deps.config.ALLOWED_SOURCES) {
    if (onlyAccount !== undefined && account !== onlyAccount) continue;
    if (container !== '*') {
      containers.push({ account, container });
      continue;
    }
    for await (const listed of deps.clients.blobServiceFor(account).listContainers()) {
      // The reports' own container is not backed up.
      if (listed.name !== deps.config.INVENTORY_AZURE?.container) containers.push({ account, container: listed.name });
    }
  }
  return containers;
}

/** Accounts an inventory run swept within INVENTORY_MAX_AGE: the timer leaves them to their next report. */
async function accountsCoveredByInventory(deps: SweepDeps, containers: SweptContainer[], now: Date): Promise<string[]> {
  if (!deps.config.INVENTORY_AZURE) return [];
  const covered: string[] = [];
  for (const account of new Set(containers.map((swept) => swept.account))) {
    const last = await lastInventoryRun(deps.state, account);
    if (last && now.getTime() - Date.parse(last.finishedAt) <= deps.config.INVENTORY_MAX_AGE) covered.push(account);
  }
  return covered;
}

/** Plans a run (once per runId, whichever instance or delivery comes first) and replays what was parked. */
async function planRun(
  plan: Pick<PlanSweepOptions, 'runId' | 'runStartedAt' | 'containers' | 'inventory'>,
  logged: Record<string, unknown>,
  context: InvocationContext,
  deps: SweepDeps,
): Promise<void> {
  const planned = await planSweep({ ...plan, sweepQueue: deps.queues.getQueueClient(SWEEP_QUEUE_NAME), state: deps.state });
  context.info(JSON.stringify({ event: 'sweepPlan', runId: plan.runId, ...logged, containers: plan.containers.length, ...planned }));
  if (!planned.planned) return;
  // What no rule could classify (the poison queue) and what Event Grid gave up on (its dead letters) go back
  // to the fleet every run, so that no blob waits for a person after an outage.
  const { poison, deadLetters } = await replayParked(deps.clients);
  context[deadLetters?.skipped.length ? 'warn' : 'info'](
    JSON.stringify({
      event: 'sweepReplay',
      runId: plan.runId,
      poisonMessages: poison.messages,
      deadLetterEvents: deadLetters?.events ?? 0,
      deadLettersSkipped: deadLetters?.skipped ?? [],
    }),
  );
}

/**
 * The timer: plans the run of this schedule occurrence (once, whichever instance fires first), listing every
 * container but those of accounts an inventory run swept within INVENTORY_MAX_AGE. With inventories
 * configured it is the fallback: an account whose report did not come (or was refused) is listed.
 */
export async function planSweepRun(timer: Timer, context: InvocationContext, deps: SweepDeps): Promise<void> {
  const runStartedAt = new Date();
  const runId = sweepRunId(deps.config.SWEEP_SCHEDULE, runStartedAt);
  const every = await sweptContainers(deps);
  const covered = await accountsCoveredByInventory(deps, every, runStartedAt);
  const containers = every.filter((swept) => !covered.includes(swept.account));
  const listedAccounts = [...new Set(containers.map((swept) => swept.account))];
  if (deps.config.INVENTORY_AZURE && listedAccounts.length > 0) {
    context.warn(
      JSON.stringify({
        event: 'sweepFallback',
        runId,
        reason: 'no inventory run swept these accounts within INVENTORY_MAX_AGE: listing them',
        accounts: listedAccounts,
      }),
    );
  }
  await planRun(
    { runId, runStartedAt, containers },
    { isPastDue: timer.isPastDue, ...(covered.length > 0 ? { coveredByInventory: covered } : {}) },
    context,
    deps,
  );
}

/**
 * The inventory queue trigger: a BlobInventoryPolicyCompleted of the configured rule starts a run over its
 * account's allowed containers from that report (and the newest S3 report). Anything else is logged and
 * acknowledged: a failed run's report is not read, and the timer lists the account once INVENTORY_MAX_AGE
 * passes without a run.
 */
export async function startInventorySweep(message: unknown, context: InvocationContext, deps: SweepDeps): Promise<void> {
  const refuse = (reason: string, level: 'warn' | 'info' = 'warn') =>
    context[level](JSON.stringify({ event: 'inventoryCompleted', outcome: 'refused', reason }));
  const parsed = inventoryCompletedEventSchema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse(issue ? `${issue.path.join('.') || 'event'}: ${issue.message}` : 'not a BlobInventoryPolicyCompleted event');
  }
  const event = parsed.data;
  const inventory = deps.config.INVENTORY_AZURE;
  if (!inventory || !deps.config.INVENTORY_S3) return refuse('INVENTORY_AZURE and INVENTORY_S3 are not set: the sweep lists instead');
  const { accountName: account, ruleName, policyRunStatus } = event.data;
  if (ruleName !== inventory.rule)
    return refuse(`rule ${JSON.stringify(ruleName)} is not INVENTORY_AZURE's ${JSON.stringify(inventory.rule)}`, 'info');
  if (policyRunStatus !== 'Succeeded') {
    return refuse(`the run of rule ${ruleName} on ${account} ended ${policyRunStatus}: ${event.data.policyRunStatusMessage ?? ''}`.trim());
  }
  if (!deps.config.ALLOWED_SOURCES.some((source) => source.account === account)) {
    return refuse(`account ${account} is not in ALLOWED_SOURCES`);
  }
  const destination = deps.clients.blobServiceFor(account).getContainerClient(inventory.container);
  const manifest = manifestBlobOf(event.data.manifestBlobUrl, destination);
  if (!manifest) return refuse(`manifestBlobUrl is not in INVENTORY_AZURE's container ${inventory.container} of ${account}`);
  const containers = await sweptContainers(deps, account);
  await planRun(
    { runId: inventoryRunId(event), runStartedAt: new Date(), containers, inventory: { azureManifest: manifest } },
    { via: 'inventory', account, manifest },
    context,
    deps,
  );
}

/** Where a slice of `account` reads the inventory reports; undefined when inventories are not configured. */
function inventoryOptions(config: BackupSettings, clients: BackupClients, account: string): SweepInventoryOptions | undefined {
  const { INVENTORY_AZURE: azure, INVENTORY_S3: s3 } = config;
  if (!azure || !s3) return undefined;
  return {
    reports: {
      azure: { container: clients.blobServiceFor(account).getContainerClient(azure.container), rule: azure.rule },
      s3: { s3: clients.s3, bucket: s3.bucket, prefix: s3.prefix },
    },
    maxReportAgeMs: config.INVENTORY_MAX_AGE,
    // The instance's temporary storage is this process's alone (one inventory slice at a time): what a slice that
    // died there left is removed. A share (INVENTORY_WORK_DIRECTORY) is shared with other instances: left alone.
    ...(config.INVENTORY_WORK_DIRECTORY ? { workDirectory: config.INVENTORY_WORK_DIRECTORY } : { exclusiveWorkDirectory: true }),
  };
}

/**
 * One inventory slice at a time on an instance: each holds a DuckDB (384 MB) and both reports on the instance's
 * 0.8 GB of temporary storage, and the runtime hands an instance up to batchSize (8) messages at once. The
 * others wait with their messages held (the runtime keeps them invisible); listing slices do not wait.
 */
let inventorySliceTail: Promise<unknown> = Promise.resolve();
function oneInventorySliceAtATime<T>(work: () => Promise<T>): Promise<T> {
  const run = inventorySliceTail.then(work, work);
  inventorySliceTail = run.catch(() => undefined);
  return run;
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
  const inventory = inventoryOptions(config, clients, slice.account);
  if (slice.inventory && !inventory) {
    context.warn(
      JSON.stringify({ ...base, outcome: 'refused', reason: 'an inventory slice, but INVENTORY_AZURE and INVENTORY_S3 are not set' }),
    );
    return;
  }
  try {
    // Blobs written during an outage were announced; their copies may still wait for a retry.
    const outages = await new Outages({ container: deps.state, listingMaxAgeMs: STATE_LISTING_MAX_AGE_MS }).windows(
      Math.max(...config.RETRY_DELAYS),
    );
    const sweep = () =>
      sweepSlice({
        message: slice,
        container: clients.blobServiceFor(slice.account).getContainerClient(slice.container),
        target: {
          s3: clients.s3,
          bucket: config.BACKUP_BUCKET,
          features: { checksum: config.S3_CHECKSUM, conditionalWrites: config.S3_CONDITIONAL_WRITES },
        },
        keys: keyMappingFor({
          account: slice.account,
          container: slice.container,
          prefix: config.BACKUP_PREFIX,
          layout: config.KEY_LAYOUT,
        }),
        backupQueue: deps.queues.getQueueClient(deps.env[QUEUE_NAME_SETTING] ?? ''),
        sweepQueue: deps.queues.getQueueClient(SWEEP_QUEUE_NAME),
        state: deps.state,
        eventLagMs: config.SWEEP_EVENT_LAG,
        outageWindows: outages,
        ...(slice.inventory && inventory ? { inventory } : {}),
      });
    const outcome = slice.inventory ? await oneInventorySliceAtATime(sweep) : await sweep();
    // Refused reports are an error a person must fix (the file and the fix are named); nothing was repaired from them.
    context[outcome.result?.refused ? 'error' : 'info'](
      JSON.stringify({ ...base, outcome: outcome.status, ...(outcome.result ?? {}), more: outcome.next !== undefined }),
    );
    if (outcome.report) reportSweep(outcome.report, context);
  } catch (error) {
    // On its last delivery a slice gives up rather than poisoning: the next run sweeps the container again, and
    // a slice that failed through an outage is not a message for a person to replay.
    const lastDelivery = Number(context.triggerMetadata?.dequeueCount ?? 0) >= MAX_DEQUEUE_COUNT;
    context.error(
      JSON.stringify({ ...base, outcome: lastDelivery ? 'abandoned-until-next-run' : 'will-retry', reason: errorSummary(error) }),
    );
    if (!lastDelivery) throw error;
  }
}

function reportSweep(report: SweepReport, context: InvocationContext): void {
  recordSweepReport(report);
  // A missed event is what the alert is about: a warning a person should read; expected finds are information.
  context[report.missedEvents > 0 || (report.refused?.length ?? 0) > 0 ? 'warn' : 'info'](
    JSON.stringify({ event: 'sweepReport', ...report }),
  );
}
