// Which writes complete an inventory run: only a rule's `<rule>-manifest.checksum` in its run folder of the
// inventory container, the run's last file. The delivery, and the whole event as the running local cloud raises it
// for `writeInventoryReports`, are proven by apps/backup-function's inventory-sweep test.
import { AZURE_INVENTORY_CONTAINER } from '@blobferry/contract';
import { describe, expect, it } from 'vitest';
import { completedInventoryRun, inventoryCompletedEvent } from '../src/events/inventory-completed-event.js';

describe('BlobInventoryPolicyCompleted', () => {
  it("is raised by a run's checksum file, naming the run's time and manifest", () => {
    const run = completedInventoryRun(AZURE_INVENTORY_CONTAINER, '2026/12/07/15-04-05/blobferry/blobferry-manifest.checksum');
    expect(run).toEqual({
      rule: 'blobferry',
      scheduleDateTime: '2026-12-07T15:04:05Z',
      manifestBlob: '2026/12/07/15-04-05/blobferry/blobferry-manifest.json',
    });
    const event = inventoryCompletedEvent({
      accountName: 'devstoreaccount1',
      blobEndpoint: 'http://127.0.0.1:10000/devstoreaccount1',
      container: AZURE_INVENTORY_CONTAINER,
      run: run as NonNullable<typeof run>,
    });
    expect(event.data.manifestBlobUrl).toBe(
      `http://127.0.0.1:10000/devstoreaccount1/${AZURE_INVENTORY_CONTAINER}/2026/12/07/15-04-05/blobferry/blobferry-manifest.json`,
    );
    expect(event).toMatchObject({ subject: 'BlobDataManagement/BlobInventory', dataVersion: '1.0', metadataVersion: '1' });
  });

  it('is not raised by the data files, the manifest, another rule folder or another container', () => {
    for (const [container, blob] of [
      [AZURE_INVENTORY_CONTAINER, '2026/12/07/15-04-05/blobferry/blobferry_1000000_0.parquet'],
      [AZURE_INVENTORY_CONTAINER, '2026/12/07/15-04-05/blobferry/blobferry-manifest.json'],
      [AZURE_INVENTORY_CONTAINER, '2026/12/07/15-04-05/blobferry/other-manifest.checksum'],
      [AZURE_INVENTORY_CONTAINER, 'blobferry/blobferry-manifest.checksum'],
      ['source', '2026/12/07/15-04-05/blobferry/blobferry-manifest.checksum'],
    ] as const) {
      expect(completedInventoryRun(container, blob)).toBeUndefined();
    }
  });
});
