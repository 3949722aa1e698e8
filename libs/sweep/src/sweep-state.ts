import type { ContainerClient } from '@azure/storage-blob';
import { httpStatusOf } from '@blobferry/retry-policy';

// A run's record in the state container, under `sweeps/<runId>/`: the plan (which containers), one result
// per slice, one marker per finished container, and the report, written once. Every write is idempotent or
// conditional, so a slice run twice (after a crash) or two instances finishing at once change nothing.

export interface SweepPlan {
  runId: string;
  runStartedAt: string;
  /** How the run reads the containers: listing them, or joining the inventory reports. */
  via: 'listing' | 'inventory';
  /** `account/container` of every container the run sweeps. */
  containers: string[];
}

const runPrefix = (runId: string) => `sweeps/${runId}/`;
const sliceName = (runId: string, source: string, slice: number) =>
  `${runPrefix(runId)}slices/${source}/${String(slice).padStart(8, '0')}.json`;
const doneName = (runId: string, source: string) => `${runPrefix(runId)}done/${source}`;

function isAlreadyThere(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === 409 || status === 412;
}

async function putJson(
  state: ContainerClient,
  name: string,
  value: unknown,
  options: { onlyIfAbsent?: boolean; abortSignal?: AbortSignal | undefined },
) {
  const body = JSON.stringify(value);
  await state.getBlockBlobClient(name).upload(body, Buffer.byteLength(body), {
    blobHTTPHeaders: { blobContentType: 'application/json' },
    ...(options.onlyIfAbsent ? { conditions: { ifNoneMatch: '*' } } : {}),
    abortSignal: options.abortSignal,
  });
}

/** Writes the plan unless another instance already did for this run; true when this call wrote it. */
export async function createPlan(state: ContainerClient, plan: SweepPlan, abortSignal?: AbortSignal): Promise<boolean> {
  try {
    await putJson(state, `${runPrefix(plan.runId)}plan.json`, plan, { onlyIfAbsent: true, abortSignal });
    return true;
  } catch (error) {
    if (isAlreadyThere(error)) return false;
    throw error;
  }
}

async function readJson<T>(state: ContainerClient, name: string, abortSignal?: AbortSignal): Promise<T> {
  return JSON.parse((await state.getBlobClient(name).downloadToBuffer(undefined, undefined, { abortSignal })).toString('utf8')) as T;
}

/** How long a slice's lease lasts without renewal (Azure allows 15 to 60 s, or infinite), and how often it is renewed. */
const SLICE_LEASE_SECONDS = 60;
const SLICE_LEASE_RENEW_MS = 20_000;

export type SliceClaim =
  { status: 'claimed'; complete(result: object): Promise<void>; abandon(): Promise<void> } | { status: 'busy' } | { status: 'done' };

/**
 * Takes a slice for this instance: a lease on the slice's result blob, renewed while the slice runs. A slice
 * another instance holds is `busy` (a message the queue delivered twice), one whose result is written is
 * `done`. If the holder dies, its lease runs out within a minute and the slice's message, delivered again,
 * takes it over: so no two instances ever sweep one slice at once, and none is lost.
 */
export async function claimSlice(
  state: ContainerClient,
  runId: string,
  source: string,
  slice: number,
  abortSignal?: AbortSignal,
): Promise<SliceClaim> {
  const blob = state.getBlockBlobClient(sliceName(runId, source, slice));
  try {
    await putJson(state, blob.name, {}, { onlyIfAbsent: true, abortSignal });
  } catch (error) {
    if (!isAlreadyThere(error)) throw error;
  }
  const lease = blob.getBlobLeaseClient();
  try {
    await lease.acquireLease(SLICE_LEASE_SECONDS, { abortSignal });
  } catch (error) {
    if (httpStatusOf(error) === 409) return { status: 'busy' };
    throw error;
  }
  const renewal = setInterval(() => void lease.renewLease().catch(() => undefined), SLICE_LEASE_RENEW_MS);
  renewal.unref();
  const release = async () => {
    clearInterval(renewal);
    await lease.releaseLease().catch(() => undefined);
  };
  let recorded: { done?: boolean };
  try {
    recorded = await readJson<{ done?: boolean }>(state, blob.name, abortSignal);
  } catch (error) {
    await release();
    throw error;
  }
  if (recorded.done) {
    await release();
    return { status: 'done' };
  }
  return {
    status: 'claimed',
    async complete(result) {
      const body = JSON.stringify({ ...result, done: true });
      await blob.upload(body, Buffer.byteLength(body), {
        conditions: { leaseId: lease.leaseId },
        blobHTTPHeaders: { blobContentType: 'application/json' },
        abortSignal,
      });
      await release();
    },
    abandon: release,
  };
}

export async function markContainerDone(state: ContainerClient, runId: string, source: string, abortSignal?: AbortSignal) {
  await putJson(state, doneName(runId, source), {}, { abortSignal });
}

/** The plan and every slice result of a run, once each of its containers and each slice is done; undefined before. */
export async function completedRun<TSlice>(
  state: ContainerClient,
  runId: string,
  abortSignal?: AbortSignal,
): Promise<{ plan: SweepPlan; slices: TSlice[] } | undefined> {
  const plan = await readJson<SweepPlan>(state, `${runPrefix(runId)}plan.json`, abortSignal);
  const done = new Set<string>();
  for await (const blob of state.listBlobsFlat({ prefix: `${runPrefix(runId)}done/`, abortSignal })) {
    done.add(blob.name.slice(`${runPrefix(runId)}done/`.length));
  }
  if (plan.containers.some((source) => !done.has(source))) return undefined;
  const slices: TSlice[] = [];
  for await (const blob of state.listBlobsFlat({ prefix: `${runPrefix(runId)}slices/`, abortSignal })) {
    const slice = await readJson<TSlice & { done?: boolean }>(state, blob.name, abortSignal);
    if (!slice.done) return undefined;
    slices.push(slice);
  }
  return { plan, slices };
}

/** Writes the report unless another instance already did; true when this call wrote it (so reports it once). */
export async function createReport(state: ContainerClient, runId: string, report: unknown, abortSignal?: AbortSignal): Promise<boolean> {
  try {
    await putJson(state, `${runPrefix(runId)}report.json`, report, { onlyIfAbsent: true, abortSignal });
    return true;
  } catch (error) {
    if (isAlreadyThere(error)) return false;
    throw error;
  }
}

/** The last inventory run that swept an account from its reports without a refusal. */
export interface InventoryRunRecord {
  runId: string;
  finishedAt: string;
}

const inventoryRunName = (account: string) => `sweeps/inventory-runs/${account}.json`;

/** Records that an inventory run swept the account (the timer then leaves it to the next report). */
export async function recordInventoryRun(state: ContainerClient, account: string, record: InventoryRunRecord, abortSignal?: AbortSignal) {
  await putJson(state, inventoryRunName(account), record, { abortSignal });
}

/** The account's last inventory run, or undefined when none has swept it. */
export async function lastInventoryRun(
  state: ContainerClient,
  account: string,
  abortSignal?: AbortSignal,
): Promise<InventoryRunRecord | undefined> {
  try {
    return await readJson<InventoryRunRecord>(state, inventoryRunName(account), abortSignal);
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}
