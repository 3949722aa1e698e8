import { z } from 'zod';

/**
 * One slice of a scheduled sweep, as a message of the sweep queue (SWEEP_QUEUE_NAME): which run, which
 * container, and where in it to start. The message is the checkpoint: a slice that dies with its instance
 * is delivered again, to this or another instance, and starts from the same place; the queue's lease keeps
 * two instances from sweeping one slice at once.
 */
export const sweepSliceMessageSchema = z.object({
  /**
   * The schedule occurrence the run belongs to (ISO time), the same on every instance that fired for it; or, for
   * a run an inventory report started, `inventory-<account>-<the report's schedule time>` (the same on every
   * delivery of its event).
   */
  runId: z.union([z.iso.datetime(), z.string().regex(/^inventory-[a-z0-9]{3,24}-\d{8}T\d{6}Z$/)]),
  runStartedAt: z.iso.datetime(),
  account: z.string().min(1),
  container: z.string().min(1),
  /** 0 for a container's first slice. */
  slice: z.number().int().min(0),
  /** Absent on the first slice: libs/reconcile's SliceCheckpoint of the slice before. */
  from: z.object({ marker: z.string().min(1), targetStartAfter: z.string() }).optional(),
  /**
   * Present: the container is swept from the inventory reports in one slice (libs/inventory's join), not listed.
   * `azureManifest` pins the Azure report (the run's BlobInventoryPolicyCompleted named it); else the newest.
   */
  inventory: z.object({ azureManifest: z.string().min(1).optional() }).optional(),
});

export type SweepSliceMessage = z.infer<typeof sweepSliceMessageSchema>;
