import type { ContainerClient } from '@azure/storage-blob';

// A singleton listener lock as the WebJobs SDK takes it (BlobLeaseDistributedLockManager): a lease on the
// blob `locks/<lockId>` in the host storage's `azure-webjobs-hosts` container, for `listenerLockPeriod`,
// renewed at half that period. Whoever holds the lease runs the listener; the others keep trying. The
// lock blob's metadata names the instance holding it (`FunctionInstance`).

export interface HeldListenerLock {
  /** Resolves when a renewal failed: the lease may now be someone else's. */
  lost: Promise<void>;
  /** Stops renewing and releases the lease (best effort: an unreleased lease runs out by itself). */
  release(): Promise<void>;
}

export interface TryListenerLockOptions {
  container: ContainerClient;
  /** `<hostId>/<function full name>.Listener`. */
  lockId: string;
  periodMs: number;
  /** Written into the lock blob's metadata, as the runtime writes its instance id. */
  instanceId: string;
  log(entry: Record<string, unknown>): void;
}

function statusOf(error: unknown): { statusCode?: number; code?: string } {
  const { statusCode, code } = error as { statusCode?: number; code?: string };
  return { statusCode, code };
}

/** Takes the lock if nobody holds it; undefined when another instance does. */
export async function tryListenerLock(o: TryListenerLockOptions): Promise<HeldListenerLock | undefined> {
  const blob = o.container.getBlockBlobClient(`locks/${o.lockId}`);
  const lease = blob.getBlobLeaseClient();
  const periodSeconds = Math.round(o.periodMs / 1000);
  try {
    await lease.acquireLease(periodSeconds);
  } catch (error) {
    const { statusCode } = statusOf(error);
    if (statusCode === 409) return undefined;
    if (statusCode !== 404) throw error;
    // The first instance ever creates the container and the lock blob; creating them races harmlessly.
    await o.container.createIfNotExists();
    await blob.upload('', 0, { conditions: { ifNoneMatch: '*' } }).catch((uploadError: unknown) => {
      if (![409, 412].includes(statusOf(uploadError).statusCode ?? 0)) throw uploadError;
    });
    try {
      await lease.acquireLease(periodSeconds);
    } catch (retryError) {
      if (statusOf(retryError).statusCode === 409) return undefined;
      throw retryError;
    }
  }
  await blob.setMetadata({ FunctionInstance: o.instanceId }, { conditions: { leaseId: lease.leaseId } });

  let signalLost: () => void = () => undefined;
  const lost = new Promise<void>((resolve) => (signalLost = resolve));
  let lastRenewedAt = Date.now();
  const renew = async () => {
    try {
      await lease.renewLease();
      lastRenewedAt = Date.now();
    } catch (error) {
      clearInterval(renewal);
      o.log({
        source: 'host',
        level: 'error',
        msg: `Singleton lock renewal failed for blob '${o.lockId}' with error code ${statusOf(error).code ?? statusOf(error).statusCode ?? 'unknown'}. The last successful renewal completed ${Date.now() - lastRenewedAt} ms ago. The lease period was ${o.periodMs} ms.`,
      });
      signalLost();
    }
  };
  const renewal = setInterval(() => void renew(), o.periodMs / 2);
  return {
    lost,
    async release() {
      clearInterval(renewal);
      await lease.releaseLease().catch(() => undefined);
    },
  };
}
