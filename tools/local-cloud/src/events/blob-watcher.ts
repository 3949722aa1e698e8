import { BlobServiceClient, type BlobItem, type ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';
import type { BlobChange } from './blob-created-event.js';

// Azurite emits no events, so changes are found by listing every container and comparing ETags with
// the previous listing. The first listing is the baseline: only later creations and overwrites count.

const BLOCK_LIST_LOOKUPS_IN_FLIGHT = 16;

/** The event facts of one changed blob; undefined when it was deleted since the listing. */
async function describeChange(containerClient: ContainerClient, blob: BlobItem, abortSignal: AbortSignal | undefined): Promise<BlobChange | undefined> {
  const blobType = blob.properties.blobType ?? 'BlockBlob';
  let hasCommittedBlocks = false;
  if (blobType === 'BlockBlob') {
    try {
      const blocks = await containerClient.getBlockBlobClient(blob.name).getBlockList('committed', { abortSignal });
      hasCommittedBlocks = (blocks.committedBlocks?.length ?? 0) > 0;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return undefined;
      throw error;
    }
  }
  return {
    container: containerClient.containerName,
    blobName: blob.name,
    etag: blob.properties.etag ?? '',
    contentType: blob.properties.contentType ?? 'application/octet-stream',
    contentLength: blob.properties.contentLength ?? 0,
    blobType,
    hasCommittedBlocks,
  };
}

export class BlobWatcher {
  private readonly service: BlobServiceClient;
  private known: Map<string, string> | undefined;

  constructor(connectionString: string) {
    this.service = BlobServiceClient.fromConnectionString(connectionString);
  }

  async baseline(): Promise<void> {
    this.known = await this.listEtags();
  }

  /** Blobs created or overwritten since the last call (or the baseline), in listing order. */
  async changes(abortSignal?: AbortSignal): Promise<BlobChange[]> {
    const known = this.known ?? new Map<string, string>();
    const changed: { containerClient: ContainerClient; blob: BlobItem }[] = [];
    const seen = new Map<string, string>();
    for await (const container of this.service.listContainers({ abortSignal })) {
      const containerClient = this.service.getContainerClient(container.name);
      for await (const blob of containerClient.listBlobsFlat({ abortSignal })) {
        const key = `${container.name}/${blob.name}`;
        const etag = blob.properties.etag ?? '';
        seen.set(key, etag);
        if (known.get(key) !== etag) changed.push({ containerClient, blob });
      }
    }
    // One block-list look-up per changed blob (to tell PutBlob from PutBlockList); a burst of uploads
    // would otherwise be announced one round trip at a time.
    const limit = pLimit(BLOCK_LIST_LOOKUPS_IN_FLIGHT);
    const described = await Promise.all(changed.map(({ containerClient, blob }) => limit(() => describeChange(containerClient, blob, abortSignal))));
    this.known = seen;
    return described.filter((change): change is BlobChange => change !== undefined);
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
