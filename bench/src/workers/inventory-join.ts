import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { AZURE_INVENTORY_CONTAINER, AZURE_INVENTORY_RULE, s3InventoryBucketFor, s3InventoryPrefixFor } from '@blobferry/contract';
import { fetchInventoryReports, joinInventoryReports } from '@blobferry/inventory';
import type { Stack } from '@blobferry/local-cloud';
import { printResult, workerArgs } from './worker-io.js';

// The inventory path measured alone, from the reports in the (local) clouds to a complete difference list on
// disk: both reports downloaded through the SDKs, joined in DuckDB, every name the reports do not prove in sync
// classified and written out (NDJSON). The live checks the list calls for are counted, not made: the estate's
// blobs exist only in its reports.

interface InventoryJoinArgs {
  stack: Stack;
  container: string;
  keyRoot: string;
  /** The reports to read (the estate's), by their manifests. */
  azureManifest: string;
  s3Manifest: string;
  workDirectory: string;
  memoryLimitMiB: number;
}

const args = workerArgs<InventoryJoinArgs>();
const { stack } = args;
const started = performance.now();
const directory = await mkdtemp(join(args.workDirectory, 'inventory-join-'));
const s3 = new S3Client({
  endpoint: stack.aws.s3Endpoint,
  region: stack.aws.region,
  forcePathStyle: true,
  credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
});
try {
  const account = BlobServiceClient.fromConnectionString(stack.azure.connectionString);
  const reports = await fetchInventoryReports({
    azure: { container: account.getContainerClient(AZURE_INVENTORY_CONTAINER), rule: AZURE_INVENTORY_RULE, manifest: args.azureManifest },
    s3: { s3, bucket: s3InventoryBucketFor(stack.aws.bucket), prefix: s3InventoryPrefixFor(stack.aws.bucket), manifest: args.s3Manifest },
    covering: { container: args.container, prefix: '' },
    backupBucket: stack.aws.bucket,
    directory,
  });
  const fetched = performance.now();
  const spillDirectory = join(directory, 'spill');
  await mkdir(spillDirectory);
  const joined = await joinInventoryReports({
    ...reports,
    scope: { container: args.container, prefix: '', keyRoot: args.keyRoot },
    spillDirectory,
    memoryLimitMiB: args.memoryLimitMiB,
  });
  const joinedAt = performance.now();
  const decided: Record<string, number> = {};
  let needsHead = 0;
  let readLive = 0;
  const list = createWriteStream(join(directory, 'differences.ndjson'));
  for await (const difference of joined.differences()) {
    if (difference.reportOlderThanLive) readLive += 1;
    else if (difference.verdict === 'needsHead') needsHead += 1;
    else decided[difference.verdict] = (decided[difference.verdict] ?? 0) + 1;
    const line = `${JSON.stringify({ key: args.keyRoot + difference.name, verdict: difference.verdict, reportOlderThanLive: difference.reportOlderThanLive })}\n`;
    if (!list.write(line)) await once(list, 'drain');
  }
  list.end();
  await once(list, 'close');
  joined.close();
  const listed = performance.now();
  printResult({
    durationMs: listed - started,
    downloadMs: fetched - started,
    joinMs: joinedAt - fetched,
    listMs: listed - joinedAt,
    inSync: joined.counts.inSync,
    candidates: joined.counts.candidates,
    passes: joined.counts.passes,
    decided,
    needsHead,
    readLive,
  });
} finally {
  s3.destroy();
  await rm(directory, { recursive: true, force: true });
}
