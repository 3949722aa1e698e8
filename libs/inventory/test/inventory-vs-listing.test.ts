// On the local cloud, with a difference of every kind planted: the inventory path (reports written by
// tools/local-cloud, read and joined by this lib, classified by reconcile) finds the same differences as listing
// both sides, in both report formats; and a blob written after the inventory is never repaired on the report's word.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import { publishAzureReport, writeInventoryReports, type LocalCloud } from '@blobferry/local-cloud';
import { reconcile, type ListingSource, type ReconcileSummary } from '@blobferry/reconcile';
import { copyBlobToS3, type KeyMapping } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryReportError, openInventoryListing, type InventoryProgress, type InventorySummary } from '../src/index.js';
import { account, adminS3, corruptKeepingMetadata, freshContainer, pause, reportLocations, startCloud } from './support/cloud.js';
import { AZURE_INVENTORY_CONTAINER } from '@blobferry/contract';

let cloud: LocalCloud;
let s3: S3Client;
let bucket: string;

beforeAll(async () => {
  cloud = await startCloud();
  s3 = adminS3(cloud);
  bucket = cloud.stack.aws.bucket;
}, 240_000);
afterAll(async () => {
  s3?.destroy();
  await cloud?.stop();
});

async function upload(container: ContainerClient, name: string, body: string | Buffer): Promise<void> {
  await container.getBlockBlobClient(name).uploadData(Buffer.from(body));
}

async function backUp(container: ContainerClient, keys: KeyMapping, name: string): Promise<void> {
  await copyBlobToS3({ source: { blob: container.getBlobClient(name) }, target: { s3, bucket, key: keys.keyOf(name) } });
}

/** Every difference reconcile reports, as "kind key", sorted; and its summary. */
async function differencesOf(
  container: ContainerClient,
  keys: KeyMapping,
  listing?: ListingSource,
): Promise<{ lines: string[]; summary: ReconcileSummary }> {
  const lines: string[] = [];
  const summary = await reconcile({
    source: { container },
    target: { s3, bucket },
    keys,
    ...(listing ? { listing } : {}),
    onDifference: (difference) => lines.push(`${difference.kind} ${difference.key}`),
  });
  return { lines: lines.sort(), summary };
}

describe('the inventory path against listing', () => {
  let container: ContainerClient;
  let keys: KeyMapping;
  let listed: { lines: string[]; summary: ReconcileSummary };

  beforeAll(async () => {
    ({ container, keys } = await freshContainer(cloud));
    for (const name of ['same-1.txt', 'same-2.txt', 'dir/same with space+plus.txt']) {
      await upload(container, name, `in sync ${name}`);
      await backUp(container, keys, name);
    }
    await upload(container, 'missing.txt', 'never backed up');
    await upload(container, 'dir/missing a+b é.txt', 'never backed up either');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: keys.keyOf('extra.txt'), Body: 'only in S3' }));
    await upload(container, 'size.txt', 'short');
    await backUp(container, keys, 'size.txt');
    await upload(container, 'size.txt', 'longer now');
    await upload(container, 'stale.txt', 'version 1');
    await backUp(container, keys, 'stale.txt');
    await upload(container, 'corrupt-later.txt', 'good bytes');
    await backUp(container, keys, 'corrupt-later.txt');
    await upload(container, 'corrupt-now.txt', 'good bytes');
    await backUp(container, keys, 'corrupt-now.txt');
    await corruptKeepingMetadata(s3, bucket, keys.keyOf('corrupt-now.txt'));
    // Staged blocks carry no Content-MD5: nothing to compare the backup with.
    const noMd5 = container.getBlockBlobClient('no-md5.txt');
    await noMd5.stageBlock('AAAA', Buffer.from('block'), 5);
    await noMd5.commitBlockList(['AAAA']);
    await backUp(container, keys, 'no-md5.txt');
    // Over one 8 MiB part: a multipart ETag, which is no MD5; in sync all the same.
    await upload(container, 'multipart.bin', Buffer.alloc(9 * 1024 * 1024, 7));
    await backUp(container, keys, 'multipart.bin');
    // A later second than the copies: the overwrite is stale by time, the corruption a checksum mismatch by ETag.
    await pause(1100);
    await upload(container, 'stale.txt', 'version 2');
    await corruptKeepingMetadata(s3, bucket, keys.keyOf('corrupt-later.txt'));
    listed = await differencesOf(container, keys);
    // Reports begin after every change above, in a later second (Azure states its start to the second).
    await pause(1100);
  }, 120_000);

  it('plants a difference of every kind', () => {
    const kinds = new Set(listed.lines.map((line) => line.split(' ')[0]));
    expect([...kinds].sort()).toEqual(['checksumMismatch', 'extra', 'missing', 'sizeMismatch', 'stale', 'unverifiable']);
    expect(listed.summary.inSync).toBe(4);
  });

  it.each(['parquet', 'csv'] as const)('finds the same differences from %s reports as from listing', async (format) => {
    await writeInventoryReports({ stack: cloud.stack, format });
    const told: InventoryProgress[] = [];
    const opened = await openInventoryListing({
      reports: reportLocations(cloud, s3),
      container,
      target: { s3, bucket },
      keys,
      copyLagMs: 0,
      onProgress: (progress) => told.push(progress),
    });
    // Each side's files as they arrive, from none to all, then the join's one pass.
    for (const service of ['azure', 's3'] as const) {
      const files = told.flatMap((progress) => (progress.phase === 'download' && progress.service === service ? [progress] : []));
      expect(files.map((progress) => progress.files)).toEqual(Array.from({ length: files.length }, (_, index) => index));
      expect(files.at(-1)?.files).toBe(files.at(-1)?.of);
      expect(files.at(-1)?.of).toBeGreaterThan(0);
    }
    expect(told.at(-1)).toEqual({ phase: 'join', passes: 1, of: 1 });
    let found: { lines: string[]; summary: ReconcileSummary };
    let summary: InventorySummary;
    try {
      found = await differencesOf(container, keys, opened.listing);
      summary = opened.summary();
    } finally {
      await opened.close();
    }
    expect(found.lines).toEqual(listed.lines);
    expect(found.summary.inSync).toBe(listed.summary.inSync);
    // Which is which: the reports decided these alone...
    const { checksumMismatch, ...decided } = summary.decided;
    expect(decided).toEqual({ missing: 2, extra: 1, sizeMismatch: 1, stale: 1 });
    // ...and these needed a HEAD: the blob without Content-MD5 and the multipart object, and the corruption made
    // right after its copy, unless the clock turned a second between the two (the later one is always decided).
    expect(summary.needsHead).toBeGreaterThanOrEqual(2);
    expect((checksumMismatch ?? 0) + summary.needsHead).toBe(4);
    expect(summary.reportOlderThanLive).toBe(0);
    expect(summary.inSync).toBe(3);
  });
});

/** The S3 requests a run sends, as "Command key". */
function recordRequests(client: S3Client): string[] {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(`${context.commandName} ${String((args.input as { Key?: string }).Key ?? '')}`);
      return next(args);
    },
    { step: 'initialize', name: 'record-requests' },
  );
  return sent;
}

describe('a blob written after the inventory ran', () => {
  it('is read live before anything is repaired: copied since, it is left alone; still missing, it is copied after a HEAD', async () => {
    const { container, keys } = await freshContainer(cloud);
    await upload(container, 'old.txt', 'backed up long ago');
    await backUp(container, keys, 'old.txt');
    await pause(1100);
    const s3ReportBegan = new Date();
    await pause(1100);
    // Written after the S3 report began, so it lacks them; the Azure report, later, lists both.
    await upload(container, 'late-copied.txt', 'copied after the S3 report');
    await upload(container, 'late-uncopied.txt', 'not copied yet');
    await pause(1100);
    const written = await writeInventoryReports({ stack: cloud.stack, s3StartedAt: s3ReportBegan });
    // The event path copies one of them after the S3 report was taken.
    await backUp(container, keys, 'late-copied.txt');

    const runner = adminS3(cloud);
    const requests = recordRequests(runner);
    const opened = await openInventoryListing({
      reports: reportLocations(cloud, runner, written),
      container,
      target: { s3: runner, bucket },
      keys,
      copyLagMs: 0,
    });
    const found: string[] = [];
    try {
      const summary = await reconcile({
        source: { container },
        target: { s3: runner, bucket },
        keys,
        listing: opened.listing,
        repair: {},
        onDifference: (difference) => found.push(`${difference.kind} ${difference.key} ${difference.repair?.status ?? ''}`),
      });
      expect(summary.repaired).toBe(1);
      expect(opened.summary().reportOlderThanLive).toBe(2);
    } finally {
      await opened.close();
      runner.destroy();
    }
    // The reports called both missing; read live, only the one never copied is, and it is copied after its HEAD.
    expect(found).toEqual([`missing ${keys.keyOf('late-uncopied.txt')} done`]);
    const copied = keys.keyOf('late-copied.txt');
    expect(requests.filter((request) => request.endsWith(copied))).toEqual([`HeadObjectCommand ${copied}`]);
    const uncopied = keys.keyOf('late-uncopied.txt');
    const headAt = requests.indexOf(`HeadObjectCommand ${uncopied}`);
    const writeAt = requests.findIndex((request) => request.endsWith(uncopied) && /Put|Upload/.test(request));
    expect(headAt).toBeGreaterThanOrEqual(0);
    expect(writeAt).toBeGreaterThan(headAt);
  });
});

describe('reports that cannot be trusted', () => {
  let container: ContainerClient;
  let keys: KeyMapping;
  /** A complete pair of reports: each refusal below spoils one side only. */
  let good: ReturnType<typeof reportLocations>;

  beforeAll(async () => {
    ({ container, keys } = await freshContainer(cloud));
    await upload(container, 'a.txt', 'a');
    good = reportLocations(cloud, s3, await writeInventoryReports({ stack: cloud.stack }));
  });

  async function refusal(reports: ReturnType<typeof reportLocations>): Promise<InventoryReportError> {
    const error: unknown = await openInventoryListing({ reports, container, target: { s3, bucket }, keys }).then(
      (opened) => opened.close(),
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(InventoryReportError);
    return error as InventoryReportError;
  }

  it('refuses a run whose completion marker is missing (still being written)', async () => {
    // S3 names a report's folder to the minute: a later minute keeps this run apart from the complete ones.
    const later = new Date(Date.now() + 120_000);
    const written = reportLocations(
      cloud,
      s3,
      await writeInventoryReports({ stack: cloud.stack, complete: false, azureStartedAt: later, s3StartedAt: later }),
    );
    const azure = await refusal({ ...good, azure: written.azure });
    expect(azure.file).toBe(
      `${AZURE_INVENTORY_CONTAINER}/${String(written.azure.manifest).replace('-manifest.json', '-manifest.checksum')}`,
    );
    expect(azure.fix).toContain('BlobInventoryPolicyCompleted');
    const s3Refusal = await refusal({ ...good, s3: written.s3 });
    expect(s3Refusal.file).toBe(`s3://${written.s3.bucket}/${String(written.s3.manifest).replace('manifest.json', 'manifest.checksum')}`);
    expect(s3Refusal.problem).toContain('still being delivered');
  });

  it('refuses reports without a manifest', async () => {
    const azure = await refusal({ ...good, azure: { container: good.azure.container, rule: 'nosuchrule' } });
    expect(azure.problem).toContain('without its manifest');
    expect(azure.file).toBe(`${AZURE_INVENTORY_CONTAINER}/*/nosuchrule/nosuchrule-manifest.json`);
    const s3Refusal = await refusal({ ...good, s3: { s3, bucket: good.s3.bucket, prefix: 'inventory/nowhere/blobferry/' } });
    expect(s3Refusal.file).toBe(`s3://${good.s3.bucket}/inventory/nowhere/blobferry/<YYYY-MM-DDTHH-MMZ>/manifest.json`);
  });

  it('refuses a report whose schema lacks a field the join needs, naming the file and the fix', async () => {
    const destination = account(cloud).getContainerClient(AZURE_INVENTORY_CONTAINER);
    const manifest = await publishAzureReport({
      destination,
      rule: 'narrow',
      format: 'parquet',
      schemaFields: ['Name', 'Content-Length', 'Last-Modified', 'ETag'],
      startedAt: new Date(),
      files: [],
      objectCount: 0,
      totalObjectSize: 0,
    });
    const error = await refusal({ ...good, azure: { container: destination, rule: 'narrow', manifest } });
    expect(error.file).toBe(`${AZURE_INVENTORY_CONTAINER}/${manifest}`);
    expect(error.problem).toContain('Content-MD5');
    expect(error.fix).toContain('schemaFields');
  });

  it('refuses a report older than the age allowed', async () => {
    const threeDaysAgo = new Date(Date.now() - 72 * 3600_000);
    const written = await writeInventoryReports({ stack: cloud.stack, azureStartedAt: threeDaysAgo, s3StartedAt: threeDaysAgo });
    const attempt = openInventoryListing({
      reports: reportLocations(cloud, s3, written),
      container,
      target: { s3, bucket },
      keys,
      maxReportAgeMs: 48 * 3600_000,
    });
    await expect(attempt).rejects.toThrow(/is 72(\.\d)? h old/);
  });
});
