import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import type { SweepSliceMessage } from '@blobferry/contract';
import { createPlan } from './sweep-state.js';

export interface SweptContainer {
  account: string;
  container: string;
}

export interface PlanSweepOptions {
  /** The schedule occurrence (ISO time): every instance that fires for it names the run alike, and only one plans it. */
  runId: string;
  runStartedAt: Date;
  /** Every container to sweep (ALLOWED_SOURCES, `account/*` expanded). */
  containers: SweptContainer[];
  sweepQueue: QueueClient;
  state: ContainerClient;
  /**
   * Sweep from the inventory reports (one slice per container, libs/inventory's join) instead of listing;
   * `azureManifest` pins the Azure report a BlobInventoryPolicyCompleted named.
   */
  inventory?: { azureManifest?: string };
  abortSignal?: AbortSignal;
}

export interface PlanSweepResult {
  /** False when another instance had already planned this run: nothing was sent. */
  planned: boolean;
  slicesEnqueued: number;
}

/**
 * Starts a run: records its plan (once per run, whichever instance fires first) and sends each container's
 * first slice to the sweep queue, where the fleet takes them. No message expires: a sweep planned during an
 * outage runs when the outage ends.
 */
export async function planSweep(options: PlanSweepOptions): Promise<PlanSweepResult> {
  const { runId, state, sweepQueue, abortSignal } = options;
  const runStartedAt = options.runStartedAt.toISOString();
  const containers = options.containers.map(({ account, container }) => `${account}/${container}`);
  const via = options.inventory ? 'inventory' : 'listing';
  if (!(await createPlan(state, { runId, runStartedAt, via, containers }, abortSignal))) return { planned: false, slicesEnqueued: 0 };
  for (const { account, container } of options.containers) {
    const message: SweepSliceMessage = {
      runId,
      runStartedAt,
      account,
      container,
      slice: 0,
      ...(options.inventory ? { inventory: options.inventory } : {}),
    };
    await sweepQueue.sendMessage(JSON.stringify(message), { messageTimeToLive: -1, abortSignal });
  }
  return { planned: true, slicesEnqueued: options.containers.length };
}
