// Issue #30's proof on the stack `npm start` runs, with its settings unchanged (events, the Functions host,
// the sweep every 2 minutes, SWEEP_EVENT_LAG 1m) and real clients writing (the Azure SDK, rclone): writes
// that raise no event in Azure still end byte-identical in S3 within 5 minutes, with tags, metadata and headers.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectTaggingCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { BlobClient } from '@azure/storage-blob';
import { RCLONE, toolPath } from '@blobferry/test-support/tools';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { blobferry, s3Reader, sourceContainer, waitFor } from './support.js';

const MIB = 1024 * 1024;
const FIVE_MINUTES_MS = 5 * 60_000;

let stack: BackupStack;
let stackFile: string;
let workDir: string;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'blobferry-nothing-missed-'));
  stackFile = join(workDir, 'stack.json');
  stack = await startBackupStack({ stackFile, log: (entry) => logs.push(entry) });
}, 240_000);
afterAll(async () => {
  await stack?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Uploads `content` with rclone (azureblob backend, Azurite in emulator mode) in 1 MiB blocks. */
async function rcloneUpload(content: Buffer, blobName: string): Promise<void> {
  const { azure } = stack.cloud.stack;
  const config = join(workDir, 'rclone.conf');
  await writeFile(
    config,
    [
      '[azure]',
      'type = azureblob',
      'use_emulator = true',
      `account = ${azure.accountName}`,
      `key = ${azure.accountKey}`,
      `endpoint = ${azure.blobEndpoint}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const file = join(workDir, 'rclone.bin');
  await writeFile(file, content);
  await promisify(execFile)(
    toolPath(RCLONE),
    ['copyto', file, `azure:${azure.sourceContainer}/${blobName}`, '--azureblob-chunk-size', '1Mi', '--azureblob-upload-cutoff', '1Mi'],
    { env: { PATH: process.env['PATH'], RCLONE_CONFIG: config } },
  );
}

/** Whether S3 holds the blob's current bytes and exactly its index tags. */
async function backedUp(blob: BlobClient, reader: ReturnType<typeof s3Reader>): Promise<boolean> {
  const [bytes, source] = await Promise.all([reader.read(blob.name), blob.downloadToBuffer()]);
  if (bytes === undefined || sha256(bytes) !== sha256(source)) return false;
  const { tags } = await blob.getTags();
  const tagging = await reader.s3.send(new GetObjectTaggingCommand({ Bucket: stack.cloud.stack.aws.bucket, Key: reader.keyOf(blob.name) }));
  const s3Tags = Object.fromEntries((tagging.TagSet ?? []).map((tag) => [tag.Key, tag.Value]));
  return JSON.stringify(Object.entries(s3Tags).sort()) === JSON.stringify(Object.entries(tags).sort());
}

describe('on the stack npm start runs, with real clients writing', () => {
  it('every blob ends byte-identical in S3 within 5 minutes, with tags, metadata and headers', { timeout: 600_000 }, async () => {
    const container = sourceContainer(stack.cloud.stack);
    const reader = s3Reader(stack.cloud.stack);
    const inS3 = (name: string) =>
      waitFor(async () => (await reader.read(name)) !== undefined, { timeoutMs: 60_000, what: `${name} in S3` });

    // An append blob appended to after its creation: only the (empty) create raises an event.
    const append = container.getAppendBlobClient('nothing-missed/app.log');
    await append.create({ blobHTTPHeaders: { blobContentType: 'text/plain; charset=utf-8' } });
    await inS3(append.name);
    for (const line of ['started\n', 'working\n', 'done\n']) await append.appendBlock(line, Buffer.byteLength(line));

    // A page blob written after its creation: Put Page raises no event.
    const page = container.getPageBlobClient('nothing-missed/disk.vhd');
    await page.create(4 * MIB);
    await inS3(page.name);
    await page.uploadPages(randomBytes(512 * 3), MIB, 512 * 3);

    // Ten tags (both services' limit) and the Cool tier, set by Set Blob Tier (which raises BlobTierChanged).
    const tagged = container.getBlockBlobClient('nothing-missed/tagged.csv');
    const tenTags = Object.fromEntries(Array.from({ length: 10 }, (_, index) => [`tag-${index}`, `value ${index} +-=._:/`]));
    await tagged.upload('id,amount\n1,10\n', 15, { tags: tenTags, blobHTTPHeaders: { blobContentType: 'text/csv' } });
    await tagged.setAccessTier('Cool');

    // Metadata and tags changed after the backup: neither raises an event.
    const changed = container.getBlockBlobClient('nothing-missed/changed.json');
    await changed.upload('{"v":1}', 7, { metadata: { Owner: 'alice' }, tags: { stage: 'draft' } });
    await inS3(changed.name);
    await changed.setMetadata({ Owner: 'bob', ReviewedBy: 'carol' });
    await changed.setTags({ stage: 'final', team: 'platform' });

    // A CopyBlob destination.
    const copied = container.getBlockBlobClient('nothing-missed/copy-of-tagged.csv');
    await (await copied.beginCopyFromURL(tagged.url)).pollUntilDone();

    // A blob uploaded by rclone in 1 MiB blocks (Put Block, then Put Block List).
    const chunked = container.getBlockBlobClient('nothing-missed/rclone.bin');
    await rcloneUpload(randomBytes(3 * MIB + 1234), chunked.name);
    expect((await chunked.getBlockList('committed')).committedBlocks?.length).toBeGreaterThan(1);

    const lastWriteAt = Date.now();
    const blobs = [append, page, tagged, changed, copied, chunked];
    await waitFor(async () => (await Promise.all(blobs.map((blob) => backedUp(blob, reader)))).every(Boolean), {
      timeoutMs: FIVE_MINUTES_MS,
      intervalMs: 2000,
      what: 'every blob, with its tags, in S3',
    });
    // Headers, user metadata (names in their case), tier: verify compares every recorded property, and
    // with --deep the bytes of blobs Azure keeps no MD5 for (append and page blobs).
    const verified = await blobferry(['verify', '--local', '--stack', stackFile, '--properties', '--deep', '--json']);
    expect(verified.stderr).not.toMatch(/error/i);
    const { inSync, missing, extra, sizeMismatch, checksumMismatch, stale, propertiesDiffer, unverifiable, error } = JSON.parse(
      verified.stdout,
    ).summary as Record<string, number>;
    expect({ inSync, missing, extra, sizeMismatch, checksumMismatch, stale, propertiesDiffer, unverifiable, error }).toEqual({
      inSync: blobs.length,
      missing: 0,
      extra: 0,
      sizeMismatch: 0,
      checksumMismatch: 0,
      stale: 0,
      propertiesDiffer: 0,
      unverifiable: 0,
      error: 0,
    });
    expect(verified.code).toBe(0);
    expect(Date.now() - lastWriteAt).toBeLessThan(FIVE_MINUTES_MS);

    const head = (name: string) => reader.s3.send(new HeadObjectCommand({ Bucket: stack.cloud.stack.aws.bucket, Key: reader.keyOf(name) }));
    expect((await head(append.name)).ContentType).toBe('text/plain; charset=utf-8');
    expect((await head(tagged.name)).Metadata).toMatchObject({ 'source-access-tier': 'Cool' });
    expect(Object.values((await head(changed.name)).Metadata ?? {})).toEqual(expect.arrayContaining(['bob', 'carol']));
    reader.s3.destroy();
  });

  it('a blob appended to every 200 ms for a minute ends in S3 whole, with no failed attempt', { timeout: 600_000 }, async () => {
    const container = sourceContainer(stack.cloud.stack);
    const reader = s3Reader(stack.cloud.stack);
    const busy = container.getAppendBlobClient('nothing-missed/busy.log');
    await busy.create();
    const until = Date.now() + 60_000;
    let appends = 0;
    while (Date.now() < until) {
      const line = `${new Date().toISOString()} line ${appends}\n`;
      await busy.appendBlock(line, Buffer.byteLength(line));
      appends += 1;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const committed = await busy.downloadToBuffer();
    expect(appends).toBeGreaterThan(200);
    await waitFor(async () => (await reader.read(busy.name))?.equals(committed) ?? false, {
      timeoutMs: FIVE_MINUTES_MS,
      intervalMs: 2000,
      what: 'every appended byte in S3',
    });
    // Each copy took the committed length it read at its start: none failed, none was put back for a retry.
    const attempts = logs.filter((entry) => entry.event === 'backupBlob' && String(entry.url).endsWith('/nothing-missed/busy.log'));
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.filter((entry) => !['copied', 'skipped-up-to-date'].includes(String(entry.outcome)))).toEqual([]);
    expect((await stack.poisonQueue.peekMessages()).peekedMessageItems).toEqual([]);
    reader.s3.destroy();
  });
});
