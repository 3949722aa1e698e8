import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';

// Microsoft.Storage.BlobInventoryPolicyCompleted, as Event Grid delivers it into a Storage queue (the Event Grid
// schema, one event per message): raised when a run's manifest checksum is written, or when a run fails before
// it starts. Its data: scheduleDateTime, accountName, ruleName, policyRunStatus (Succeeded, PartiallySucceeded,
// Failed), policyRunStatusMessage, policyRunId, manifestBlobUrl.

export const BLOB_INVENTORY_POLICY_COMPLETED = 'Microsoft.Storage.BlobInventoryPolicyCompleted';

export const inventoryCompletedEventSchema = z.object({
  eventType: z.literal(BLOB_INVENTORY_POLICY_COMPLETED, {
    error: (issue) => `unsupported eventType ${JSON.stringify(String(issue.input))}: expected ${BLOB_INVENTORY_POLICY_COMPLETED}`,
  }),
  data: z.object({
    scheduleDateTime: z.iso.datetime({ offset: true }),
    accountName: z.string().regex(/^[a-z0-9]{3,24}$/, 'expected a storage account name'),
    ruleName: z.string().min(1),
    policyRunStatus: z.string(),
    policyRunStatusMessage: z.string().optional(),
    policyRunId: z.string().optional(),
    manifestBlobUrl: z.url(),
  }),
});

export type InventoryCompletedEvent = z.infer<typeof inventoryCompletedEventSchema>;

/**
 * The run a report's completion starts: one per account and scheduled time, the same on every delivery of the
 * event (Event Grid delivers at least once), so that planSweep plans it once.
 */
export function inventoryRunId(event: InventoryCompletedEvent): string {
  const compact = new Date(event.data.scheduleDateTime)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `inventory-${event.data.accountName}-${compact}`;
}

/** The manifest's blob name in the rule's destination container; undefined when the URL is not in it. */
export function manifestBlobOf(manifestBlobUrl: string, destination: ContainerClient): string | undefined {
  const containerPath = `${new URL(destination.url).pathname.replace(/\/+$/, '')}/`;
  const url = new URL(manifestBlobUrl);
  if (url.origin !== new URL(destination.url).origin || !url.pathname.startsWith(containerPath)) return undefined;
  const blob = url.pathname.slice(containerPath.length).split('/').map(decodeURIComponent).join('/');
  return blob === '' ? undefined : blob;
}
