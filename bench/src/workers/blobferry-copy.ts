import type { Stack } from '@blobferry/local-cloud';
import { copyBlobToS3 } from '@blobferry/transfer';
import { azureContainer, blobferryS3Client } from '../clients.js';
import { printResult, workerArgs } from './worker-io.js';

// blobferry's data path for one blob, as the function runs it: libs/transfer's copyBlobToS3.
// It also says what its resident memory was made of at its peak: process.memoryUsage() every 50 ms, without
// forcing a GC, so garbage not yet collected shows as what it is (V8 heap, or external memory such as socket
// chunks) rather than hiding in one RSS figure.

const MiB = 1024 * 1024;
let atPeakRss = process.memoryUsage();
const sampler = setInterval(() => {
  const usage = process.memoryUsage();
  if (usage.rss > atPeakRss.rss) atPeakRss = usage;
}, 50);

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
clearInterval(sampler);
const inMiB = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;
printResult({
  bytes: result.bytes,
  parts: result.parts,
  durationMs: result.durationMs,
  memoryAtPeakRss: {
    rssMiB: inMiB(atPeakRss.rss),
    heapTotalMiB: inMiB(atPeakRss.heapTotal),
    heapUsedMiB: inMiB(atPeakRss.heapUsed),
    externalMiB: inMiB(atPeakRss.external),
    arrayBuffersMiB: inMiB(atPeakRss.arrayBuffers),
  },
});
