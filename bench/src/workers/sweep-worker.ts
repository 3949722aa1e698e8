import { QueueServiceClient } from '@azure/storage-queue';
import { SWEEP_QUEUE_NAME, sweepSliceMessageSchema } from '@blobferry/contract';
import type { Stack } from '@blobferry/local-cloud';
import { planSweep, sweepSlice, type SweepReport } from '@blobferry/sweep';
import { keyMappingFor } from '@blobferry/transfer';
import { azureContainer, hostStorageContainer, s3Client } from '../clients.js';
import { countRequests, stackEndpoints } from '../http-requests.js';
import { printResult, workerArgs } from './worker-io.js';

// One run of the scheduled sweep over one container, as one instance of the Function app runs it
// (apps/backup-function/src/sweep.ts): the timer's planSweep, then the queue trigger's sweepSlice for each slice
// message, taken off the sweep queue and deleted as the Functions host does. Every request it sends is counted.

export interface SweepWorkerArgs {
  stack: Stack;
  container: string;
  /** BACKUP_PREFIX of the backups swept. */
  keyPrefix: string;
  /** The sweep's state container, in the Function's host storage (STATE_CONTAINER_URL). */
  stateContainer: string;
}

export interface SweepWorkerResult {
  report: SweepReport;
  /** Requests from the plan to the report, by kind (http-requests.ts). */
  requests: Record<string, number>;
  /** From the plan to the report, start-up excluded; and the process's CPU over that time. */
  sweepMs: number;
  sweepCpuS: number;
}

/** How long a slice stays invisible to other instances while it is swept (the runtime's visibility timeout). */
const SLICE_VISIBILITY_S = 600;

const { stack, container, keyPrefix, stateContainer } = workerArgs<SweepWorkerArgs>();
const queues = QueueServiceClient.fromConnectionString(stack.azure.connectionString);
const sweepQueue = queues.getQueueClient(SWEEP_QUEUE_NAME);
const backupQueue = queues.getQueueClient(stack.events.queueName);
const state = hostStorageContainer(stack, stateContainer);
const source = azureContainer(stack, container);
const target = { s3: s3Client(stack), bucket: stack.aws.bucket, features: stack.aws.s3Features };
const keys = keyMappingFor({ account: stack.azure.accountName, container, prefix: keyPrefix });

const counter = countRequests(stackEndpoints(stack, state.url));
const started = performance.now();
const cpuAtStart = process.cpuUsage();
// A run of its own: every measured run sweeps afresh, as the next schedule occurrence would.
const runStartedAt = new Date();
const runId = runStartedAt.toISOString();
await planSweep({ runId, runStartedAt, containers: [{ account: stack.azure.accountName, container }], sweepQueue, state });
let report: SweepReport | undefined;
while (!report) {
  const [received] = (await sweepQueue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: SLICE_VISIBILITY_S }))
    .receivedMessageItems;
  if (!received) throw new Error(`the sweep queue is empty and run ${runId} has not reported`);
  const outcome = await sweepSlice({
    message: sweepSliceMessageSchema.parse(JSON.parse(received.messageText)),
    container: source,
    target,
    keys,
    backupQueue,
    sweepQueue,
    state,
    // Every planted change is older than the run: none is left to an event still on its way.
    eventLagMs: 0,
  });
  await sweepQueue.deleteMessage(received.messageId, received.popReceipt);
  report = outcome.report;
}
const cpu = process.cpuUsage(cpuAtStart);
const result: SweepWorkerResult = {
  report,
  requests: counter.counts(),
  sweepMs: Math.round(performance.now() - started),
  sweepCpuS: (cpu.user + cpu.system) / 1e6,
};
counter.stop();
printResult({ ...result });
