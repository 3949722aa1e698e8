import { BlobServiceClient } from '@azure/storage-blob';
import type { BlobChange } from './blob-created-event.js';

// Azurite emits no events, so changes are found by listing every container and comparing ETags with
// the previous listing. The first listing is the baseline: only later creations and overwrites count.

export class BlobWatcher {
  private readonly service: BlobServiceClient;
  private known: Map<string, string> | undefined;

  constructor(connectionString: string) {
    this.service = BlobServiceClient.fromConnectionString(connectionString);
  }

  async baseline(): Promise<void> {
    this.known = await this.listEtags();
  }

  /** Blobs created or overwritten since the last call (or the baseline). */
  async changes(abortSignal?: AbortSignal): Promise<BlobChange[]> {
    const known = this.known ?? new Map<string, string>();
    const found: BlobChange[] = [];
    const seen = new Map<string, string>();
    for await (const container of this.service.listContainers({ abortSignal })) {
      const containerClient = this.service.getContainerClient(container.name);
      for await (const blob of containerClient.listBlobsFlat({ abortSignal })) {
        const key = `${container.name}/${blob.name}`;
        const etag = blob.properties.etag ?? '';
        seen.set(key, etag);
        if (known.get(key) === etag) continue;
        const blobType = blob.properties.blobType ?? 'BlockBlob';
        let hasCommittedBlocks = false;
        if (blobType === 'BlockBlob') {
          try {
            const blocks = await containerClient.getBlockBlobClient(blob.name).getBlockList('committed', { abortSignal });
            hasCommittedBlocks = (blocks.committedBlocks?.length ?? 0) > 0;
          } catch (error) {
            // Deleted between the listing and now: nothing to announce.
            if ((error as { statusCode?: number }).statusCode === 404) continue;
            throw error;
          }
        }
        found.push({
          container: container.name,
          blobName: blob.name,
          etag,
          contentType: blob.properties.contentType ?? 'application/octet-stream',
          contentLength: blob.properties.contentLength ?? 0,
          blobType,
          hasCommittedBlocks,
        });
      }
    }
    this.known = seen;
    return found;
  }

  private async listEtags(): Promise<Map<string, string>> {
    const etags = new Map<string, string>();
    for await (const container of this.service.listContainers()) {
      for await (const blob of this.service.getContainerClient(container.name).listBlobsFlat()) {
        etags.set(`${container.name}/${blob.name}`, blob.properties.etag ?? '');
      }
    }
    return etags;
  }
}
