import type { Stack } from '@blobferry/local-cloud';
import { copyBlobToS3 } from '@blobferry/transfer';
import { azureContainer, blobferryS3Client } from '../clients.js';
import { printResult, workerArgs } from './worker-io.js';

// blobferry's data path for one blob, as the function runs it: libs/transfer's copyBlobToS3.

const args = workerArgs<{
  stack: Stack;
  container: string;
  blobName: string;
  key: string;
  partSize?: number;
  concurrency?: number;
}>();
const result = await copyBlobToS3({
  source: { blob: azureContainer(args.stack, args.container).getBlobClient(args.blobName) },
  target: { s3: blobferryS3Client(args.stack), bucket: args.stack.aws.bucket, key: args.key },
  ...(args.partSize ? { partSize: args.partSize } : {}),
  ...(args.concurrency ? { concurrency: args.concurrency } : {}),
});
if (result.outcome !== 'copied') throw new Error(`expected a fresh copy, got ${result.outcome} for ${args.key}`);
printResult({ bytes: result.bytes, parts: result.parts, durationMs: result.durationMs });
