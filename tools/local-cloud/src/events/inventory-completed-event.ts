import { randomUUID } from 'node:crypto';
import { AZURE_INVENTORY_CONTAINER } from '@blobferry/contract';
import type { BlobInventoryPolicyCompletedEventData, EventGridEvent } from '../types.js';
import { blobUrl, storageAccountTopic } from './blob-created-event.js';

export const BLOB_INVENTORY_POLICY_COMPLETED = 'Microsoft.Storage.BlobInventoryPolicyCompleted';

// Azure raises BlobInventoryPolicyCompleted when a run writes its `<rule>-manifest.checksum` (the run's last
// file) under `YYYY/MM/DD/HH-MM-SS/<rule>/` of the rule's destination container. The local cloud's inventory
// writes its reports where blobferry's deployments configure them (libs/contract AZURE_INVENTORY_CONTAINER), so
// a checksum written there completes a run.

const CHECKSUM = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})-(\d{2})-(\d{2})\/([^/]+)\/([^/]+)-manifest\.checksum$/;

/** The run a written blob completes: its rule, scheduled time and manifest; undefined for any other blob. */
export function completedInventoryRun(
  container: string,
  blobName: string,
): { rule: string; scheduleDateTime: string; manifestBlob: string } | undefined {
  if (container !== AZURE_INVENTORY_CONTAINER) return undefined;
  const match = CHECKSUM.exec(blobName);
  if (!match || match[7] !== match[8]) return undefined;
  const [, year, month, day, hours, minutes, seconds, rule = ''] = match;
  return {
    rule,
    scheduleDateTime: `${year}-${month}-${day}T${hours}:${minutes}:${seconds}Z`,
    manifestBlob: blobName.replace(/-manifest\.checksum$/, '-manifest.json'),
  };
}

/** The event in the Event Grid schema, field for field as Azure Storage raises it for a run that succeeded. */
export function inventoryCompletedEvent(o: {
  accountName: string;
  blobEndpoint: string;
  container: string;
  run: NonNullable<ReturnType<typeof completedInventoryRun>>;
}): EventGridEvent<BlobInventoryPolicyCompletedEventData> {
  return {
    topic: storageAccountTopic(o.accountName),
    subject: 'BlobDataManagement/BlobInventory',
    eventType: BLOB_INVENTORY_POLICY_COMPLETED,
    eventTime: new Date().toISOString(),
    id: randomUUID(),
    data: {
      scheduleDateTime: o.run.scheduleDateTime,
      accountName: o.accountName,
      ruleName: o.run.rule,
      policyRunStatus: 'Succeeded',
      policyRunStatusMessage: 'Inventory run succeeded, refer manifest file for inventory details.',
      policyRunId: randomUUID(),
      manifestBlobUrl: blobUrl(o.blobEndpoint, o.container, o.run.manifestBlob),
    },
    dataVersion: '1.0',
    metadataVersion: '1',
  };
}
