// Which events each local subscription lets through: the event types it includes and, for the backup
// subscription, the operations its data.api filter excludes. The proxy raises none of the excluded operations
// (Azurite has no Data Lake endpoint), so they are checked on the filter the running subscriptions apply.
import { describe, expect, it } from 'vitest';
import { LOCAL_SUBSCRIPTIONS } from '../src/events/local-subscriptions.js';
import { passesFilter } from '../src/events/subscription-filter.js';
import type { EventGridEvent } from '../src/types.js';

function event(eventType: string, data: Record<string, unknown>): EventGridEvent {
  return { id: '1', topic: 't', subject: 's', eventType, eventTime: '2026-12-07T00:00:00Z', data, dataVersion: '', metadataVersion: '1' };
}

const { backup, inventory } = LOCAL_SUBSCRIPTIONS;

describe('the backup subscription', () => {
  it('delivers blob creations, tier changes, renames and deletes, whatever operation completed them', () => {
    for (const [type, api] of [
      ['Microsoft.Storage.BlobCreated', 'PutBlob'],
      ['Microsoft.Storage.BlobCreated', 'FlushWithClose'],
      ['Microsoft.Storage.BlobCreated', 'SftpCommit'],
      ['Microsoft.Storage.BlobTierChanged', 'SetBlobTier'],
      ['Microsoft.Storage.BlobRenamed', 'RenameFile'],
      ['Microsoft.Storage.DirectoryRenamed', 'RenameDirectory'],
      ['Microsoft.Storage.BlobDeleted', 'DeleteBlob'],
      ['Microsoft.Storage.DirectoryDeleted', 'DeleteDirectory'],
    ] as const) {
      expect([type, api, passesFilter(backup.filter, event(type, { api }))]).toEqual([type, api, true]);
    }
  });

  it('excludes the operations that announce a blob still being written, in any case', () => {
    for (const api of ['CreateFile', 'SftpCreate', 'createfile']) {
      expect([api, passesFilter(backup.filter, event('Microsoft.Storage.BlobCreated', { api }))]).toEqual([api, false]);
    }
  });

  it('does not deliver an inventory run or any other event type', () => {
    expect(passesFilter(backup.filter, event('Microsoft.Storage.BlobInventoryPolicyCompleted', { ruleName: 'blobferry' }))).toBe(false);
    expect(passesFilter(backup.filter, event('Microsoft.Storage.AsyncOperationInitiated', { api: 'SetBlobTier' }))).toBe(false);
  });
});

describe('the inventory subscription', () => {
  it('delivers BlobInventoryPolicyCompleted and nothing else', () => {
    expect(passesFilter(inventory.filter, event('Microsoft.Storage.BlobInventoryPolicyCompleted', { ruleName: 'blobferry' }))).toBe(true);
    expect(passesFilter(inventory.filter, event('Microsoft.Storage.BlobCreated', { api: 'PutBlob' }))).toBe(false);
    expect(passesFilter(inventory.filter, event('Microsoft.Storage.BlobDeleted', { api: 'DeleteBlob' }))).toBe(false);
  });
});
