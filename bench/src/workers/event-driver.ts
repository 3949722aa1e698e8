import { backupKeyFor, copyBlobToS3, parseBlobUrl } from '@blobferry/transfer';
import { azureContainer, blobferryS3Client } from '../clients.js';
import { serveEventWebhook } from './event-webhook.js';
import { workerArgs } from './worker-io.js';

// Stand-in for the backup function: copies each BlobCreated blob with libs/transfer's copyBlobToS3 (the function's
// data path, without its validation, telemetry and federated credentials).

const args = workerArgs<{ keyPrefix: string; partSize?: number; concurrency?: number }>();

serveEventWebhook(async (stack) => {
  const s3 = blobferryS3Client(stack);
  return async (events) => {
    for (const event of events) {
      if (event.eventType !== 'Microsoft.Storage.BlobCreated' || !event.data.url) continue;
      const blob = parseBlobUrl(event.data.url);
      await copyBlobToS3({
        source: { blob: azureContainer(stack, blob.container).getBlobClient(blob.blobName) },
        target: { s3, bucket: stack.aws.bucket, key: `${args.keyPrefix}${backupKeyFor(blob)}` },
        ...(args.partSize ? { partSize: args.partSize } : {}),
        ...(args.concurrency ? { concurrency: args.concurrency } : {}),
      });
    }
  };
});
