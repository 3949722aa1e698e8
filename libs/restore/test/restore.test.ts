import { randomBytes } from 'node:crypto';
import { DeleteBucketLifecycleCommand, PutBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { startLocalCloud, type LocalCloud, type Stack } from '@blobferry/local-cloud';
import type { ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRestorePoints, restore, RestoreSetupError, type RestoreItem } from '../src/index.js';
import {
  adminS3,
  backUp,
  backupRoleS3,
  containerOf,
  deleteBackup,
  keysOf,
  MiB,
  pause,
  restoreRoleS3,
  sha256,
  tagBackup,
  writeBackupVersion,
} from './support.js';

// The engine through the real path: backups written by libs/transfer's copy (and delete markers as the delete
// policy places them) in moto behind the local S3 gateway, read back through the read-only restore role that a
// person (token sub != object id) assumes, written to Azurite through the blob front.

const SOURCE = 'restore-source';

describe('restore as of a point in the source clock', () => {
  let cloud: LocalCloud;
  let stack: Stack;
  let source: ContainerClient;
  let t0: Date;
  const atT0 = new Map<string, Buffer>();

  const put = async (name: string, body: Buffer, options: Parameters<ContainerClient['uploadBlockBlob']>[3] = {}) => {
    await source.uploadBlockBlob(name, body, body.length, options);
    await backUp(stack, source, name);
  };

  beforeAll(async () => {
    cloud = await startLocalCloud({ log: () => undefined });
    stack = cloud.stack;
    source = containerOf(stack, SOURCE);
    await source.create();
    const keys = keysOf(stack, SOURCE);
    // Before T0: kept, overwritten later, deleted later, deleted before T0, and a multipart blob.
    for (const name of ['kept.txt', 'overwritten.txt', 'deleted-after.txt', 'deleted-before.txt', 'a.txt', 'a.txt.bak']) {
      const body = randomBytes(1000);
      await put(name, body, {
        blobHTTPHeaders: { blobContentType: 'text/plain', blobCacheControl: 'max-age=60' },
        metadata: { owner: 'ops' },
      });
      atT0.set(name, body);
    }
    const medium = randomBytes(10 * MiB + 5);
    await put('medium.bin', medium);
    atT0.set('medium.bin', medium);
    const large = randomBytes(20 * MiB + 123);
    await source
      .getBlockBlobClient('large.bin')
      .uploadData(large, { blockSize: 4 * MiB, blobHTTPHeaders: { blobContentType: 'application/x-large' } });
    await backUp(stack, source, 'large.bin', 8 * MiB);
    atT0.set('large.bin', large);
    await tagBackup(stack, keys, 'kept.txt', { project: 'alpha', 'cost-center': '42' });
    await source.deleteBlob('deleted-before.txt');
    await deleteBackup(stack, keys, 'deleted-before.txt');
    atT0.delete('deleted-before.txt');
    const lateBody = randomBytes(500);
    const writtenBeforeT0 = new Date();
    await pause(1100);
    t0 = new Date();
    await pause(1100);
    // After T0: overwrite, delete, create; and a backfill of a blob written before T0.
    await put('overwritten.txt', randomBytes(1000));
    await source.deleteBlob('deleted-after.txt');
    await deleteBackup(stack, keys, 'deleted-after.txt');
    await put('created-after.txt', randomBytes(100));
    await writeBackupVersion(stack, keys, 'late-backfill.txt', lateBody, writtenBeforeT0);
    atT0.set('late-backfill.txt', lateBody);
  }, 240_000);

  afterAll(async () => {
    await cloud?.stop();
  });

  it('restores exactly the set at T0 into a new container, byte for byte, with headers, metadata and tags', async () => {
    const target = containerOf(stack, 'restored-t0');
    const items: RestoreItem[] = [];
    const summary = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE) },
      target: { container: target },
      asOf: t0,
      // Small blobs come whole with their record; the 10 MiB one goes server-side; the 20 MiB one is staged as blocks.
      singleShotBytes: 16 * MiB,
      onItem: (item) => void items.push(item),
    });
    const names: string[] = [];
    for await (const blob of target.listBlobsFlat()) names.push(blob.name);
    expect(names.sort()).toEqual([...atT0.keys()].sort());
    for (const [name, body] of atT0) {
      expect(sha256(await target.getBlobClient(name).downloadToBuffer()), name).toBe(sha256(body));
    }
    const kept = await target.getBlobClient('kept.txt').getProperties();
    expect(kept).toMatchObject({ contentType: 'text/plain', cacheControl: 'max-age=60', metadata: { owner: 'ops' } });
    expect(Object.keys(kept.metadata ?? {}).some((name) => name.startsWith('source'))).toBe(false);
    expect((await target.getBlobClient('kept.txt').getTags()).tags).toEqual({ project: 'alpha', 'cost-center': '42' });
    expect((await target.getBlobClient('large.bin').getProperties()).contentType).toBe('application/x-large');

    const byName = new Map(items.map((item) => [item.name, item]));
    expect(byName.get('deleted-before.txt')).toMatchObject({ kind: 'deletedAtT', outcome: 'skipped' });
    expect(byName.get('created-after.txt')).toMatchObject({ kind: 'createdAfter', outcome: 'skipped' });
    expect(byName.get('kept.txt')).toMatchObject({ outcome: 'restored', path: 'streamed', check: 'md5' });
    expect(byName.get('medium.bin')).toMatchObject({ outcome: 'restored', path: 'server-side', check: 'md5' });
    expect(byName.get('large.bin')).toMatchObject({ outcome: 'restored', path: 'streamed', check: 'crc32' });
    expect(summary).toMatchObject({ restored: atT0.size, verified: atT0.size, unverifiable: 0, conflicts: 0, failed: 0, remaining: 0 });
    expect(summary.plan.restore).toEqual({ objects: atT0.size, bytes: [...atT0.values()].reduce((sum, body) => sum + body.length, 0) });
    expect(summary.plan.deletedAtT.objects).toBe(1);
    expect(summary.plan.createdAfter.objects).toBe(1);

    // A rerun finds everything in place and writes nothing.
    const again = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE) },
      target: { container: target, overwrite: true },
      asOf: t0,
    });
    expect(again).toMatchObject({ restored: 0, remaining: 0 });
    expect(again.plan.identical.objects).toBe(atT0.size);
  });

  it('plans without writing: counts and bytes per kind', async () => {
    const target = containerOf(stack, 'restored-dry');
    const summary = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE) },
      target: { container: target },
      asOf: t0,
      dryRun: true,
    });
    expect(summary.plan.restore.objects).toBe(atT0.size);
    expect(summary.restored).toBe(0);
    expect(await target.exists()).toBe(false);
  });

  it('brings back deleted blobs with includeDeleted, and the current versions without a point', async () => {
    const target = containerOf(stack, 'restored-now');
    const items: RestoreItem[] = [];
    await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE) },
      target: { container: target },
      includeDeleted: true,
      onItem: (item) => void items.push(item),
    });
    const restored = items.filter((item) => item.outcome === 'restored').map((item) => item.name);
    expect(restored).toEqual(expect.arrayContaining(['deleted-before.txt', 'deleted-after.txt', 'created-after.txt', 'overwritten.txt']));
    expect(sha256(await target.getBlobClient('deleted-after.txt').downloadToBuffer())).toBe(
      sha256(atT0.get('deleted-after.txt') ?? Buffer.alloc(0)),
    );
  });

  it('selects one blob by its exact name, never a prefix match, and lists its restore points', async () => {
    const target = containerOf(stack, 'restored-one');
    const summary = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE), name: 'a.txt' },
      target: { container: target },
    });
    expect(summary.restored).toBe(1);
    expect(await target.getBlobClient('a.txt.bak').exists()).toBe(false);
    // Another name that starts with it, at the target, is neither live data in the way nor an extra.
    await target.uploadBlockBlob('kept.txt.bak', 'kept', 4);
    const other = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE), name: 'kept.txt' },
      target: { container: target },
    });
    expect(other).toMatchObject({ restored: 1, remaining: 0 });
    expect(other.plan.extra.objects).toBe(0);
    const points = await listRestorePoints({
      s3: restoreRoleS3(stack),
      bucket: stack.aws.bucket,
      keys: keysOf(stack, SOURCE),
      name: 'overwritten.txt',
    });
    expect(points.map((point) => point.kind)).toEqual(['version', 'version']);
    expect(points[0]?.isLatest).toBe(true);
    expect(new Date(points[1]?.sourceLastModified ?? 0).getTime()).toBeLessThan(t0.getTime());
    const deleted = await listRestorePoints({
      s3: restoreRoleS3(stack),
      bucket: stack.aws.bucket,
      keys: keysOf(stack, SOURCE),
      name: 'deleted-after.txt',
    });
    expect(deleted.map((point) => point.kind)).toEqual(['deleteMarker', 'version']);
  });

  it('keeps scanning past pages that hold only delete markers', async () => {
    const keys = keysOf(stack, SOURCE);
    for (let index = 0; index < 6; index++) {
      const name = `folder/gone-${index}.txt`;
      await put(name, randomBytes(10));
      // Deleted twice: two markers in a row, so some pages of two entries hold markers only.
      await deleteBackup(stack, keys, name);
      await deleteBackup(stack, keys, name);
    }
    await put('folder/zz-survivor.txt', randomBytes(10));
    const items: RestoreItem[] = [];
    await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys, prefix: 'folder/' },
      target: { container: containerOf(stack, 'restored-folder') },
      pageSize: 2,
      onItem: (item) => void items.push(item),
    });
    expect(items.filter((item) => item.kind === 'deletedAtT')).toHaveLength(6);
    expect(items.find((item) => item.name === 'folder/zz-survivor.txt')).toMatchObject({ outcome: 'restored' });
  });

  it('warns when the point is older than the noncurrent-version expiry', async () => {
    await adminS3(stack).send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: stack.aws.bucket,
        LifecycleConfiguration: {
          Rules: [{ ID: 'expire', Status: 'Enabled', Filter: { Prefix: '' }, NoncurrentVersionExpiration: { NoncurrentDays: 1 } }],
        },
      }),
    );
    try {
      const summary = await restore({
        source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE), name: 'kept.txt' },
        target: { container: containerOf(stack, 'restored-old') },
        asOf: new Date(Date.now() - 2 * 24 * 3600 * 1000),
        dryRun: true,
      });
      expect(summary.warnings).toEqual([expect.stringMatching(/more than 1 days ago.*expires noncurrent versions after 1 days/)]);
    } finally {
      await adminS3(stack).send(new DeleteBucketLifecycleCommand({ Bucket: stack.aws.bucket }));
    }
  });

  it('refuses, before writing, a point in the future, live data at the target without overwrite, and the backup role', async () => {
    const base = { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE) };
    await expect(
      restore({ source: base, target: { container: containerOf(stack, 'never') }, asOf: new Date(Date.now() + 3_600_000) }),
    ).rejects.toThrow(/in the future/);
    await expect(restore({ source: base, target: { container: source } })).rejects.toThrow(/holds live data.*--overwrite/);
    await expect(
      restore({ source: { ...base, s3: backupRoleS3(cloud) }, target: { container: containerOf(stack, 'never') } }),
    ).rejects.toThrow(/may not list versions.*restore role/);
    await expect(restore({ source: base, target: { container: source } })).rejects.toBeInstanceOf(RestoreSetupError);
    expect(await containerOf(stack, 'never').exists()).toBe(false);
  });

  it('restores over live data only conditionally: a blob changed after the plan is reported, not replaced; extras are kept', async () => {
    const target = containerOf(stack, 'live');
    await target.create();
    for (const name of ['kept.txt', 'overwritten.txt']) await target.uploadBlockBlob(name, 'encrypted!', 10);
    await target.uploadBlockBlob('README-RANSOM.txt', 'pay us', 6);
    // Backed up, but created after T0: an extra too.
    await target.uploadBlockBlob('created-after.txt', 'new', 3);
    const items: RestoreItem[] = [];
    const summary = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE), name: undefined, prefix: '' },
      target: { container: target, overwrite: true },
      asOf: t0,
      concurrency: 1,
      onItem: async (item) => {
        items.push(item);
        // Someone writes the next blob after the plan listed the target.
        if (item.name === 'kept.txt') await target.uploadBlockBlob('overwritten.txt', 'newer than the plan', 19);
      },
    });
    const byName = new Map(items.map((item) => [item.name, item]));
    expect(byName.get('kept.txt')).toMatchObject({ outcome: 'restored' });
    expect(byName.get('overwritten.txt')).toMatchObject({ outcome: 'conflict' });
    expect((await target.getBlobClient('overwritten.txt').downloadToBuffer()).toString()).toBe('newer than the plan');
    expect(byName.get('README-RANSOM.txt')).toMatchObject({ kind: 'extra', outcome: 'kept' });
    expect(items.filter((item) => item.name === 'created-after.txt').map((item) => item.kind)).toEqual(['createdAfter', 'extra']);
    expect(summary.conflicts).toBe(1);
    expect(summary.remaining).toBe(3);

    const removal = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE) },
      target: { container: target, overwrite: true },
      asOf: t0,
      removeExtras: { unprotectedConfirmed: false, recoverable: async () => false },
    });
    expect(removal.extrasRemoved).toBe(0);
    expect(await target.getBlobClient('README-RANSOM.txt').exists()).toBe(true);
    const confirmed = await restore({
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys: keysOf(stack, SOURCE) },
      target: { container: target, overwrite: true },
      asOf: t0,
      removeExtras: { unprotectedConfirmed: true, recoverable: async () => false },
    });
    expect(confirmed.extrasRemoved).toBe(2);
    expect(await target.getBlobClient('README-RANSOM.txt').exists()).toBe(false);
  });

  it('finishes an interrupted large blob reading only the blocks it had not staged, nothing visible before the commit', async () => {
    const target = containerOf(stack, 'resumed');
    const s3 = restoreRoleS3(stack);
    const keys = keysOf(stack, SOURCE);
    const total = atT0.get('large.bin')?.length ?? 0;
    // Interrupted half way: once half of the blob is staged at the target (uncommitted, invisible).
    const interrupt = new AbortController();
    const staged = async () => {
      const list = await target
        .getBlockBlobClient('large.bin')
        .getBlockList('uncommitted')
        .catch(() => undefined);
      return (list?.uncommittedBlocks ?? []).reduce((sum, block) => sum + block.size, 0);
    };
    const watcher = (async () => {
      while (!interrupt.signal.aborted) {
        if ((await staged()) >= total / 2) interrupt.abort();
        else await pause(10);
      }
    })();
    await expect(
      restore({
        source: { s3, bucket: stack.aws.bucket, keys, name: 'large.bin' },
        target: { container: target },
        blockBytes: MiB / 4,
        blocksInFlight: 2,
        singleShotBytes: MiB,
        abortSignal: interrupt.signal,
      }),
    ).rejects.toThrow();
    interrupt.abort();
    await watcher;
    expect(await target.getBlobClient('large.bin').exists()).toBe(false);
    const summary = await restore({
      source: { s3, bucket: stack.aws.bucket, keys, name: 'large.bin' },
      target: { container: target },
      blockBytes: MiB / 4,
      singleShotBytes: MiB,
    });
    expect(summary.restored).toBe(1);
    expect(summary.bytesStreamed).toBeLessThan(total * 0.55);
    expect(sha256(await target.getBlobClient('large.bin').downloadToBuffer())).toBe(sha256(atT0.get('large.bin') ?? Buffer.alloc(0)));
  });

  it('gives back blob type, tier, tags and metadata names as the source spelt them, with what the backup kept in a sidecar', async () => {
    const keys = keysOf(stack, SOURCE);
    const bodies = new Map<string, Buffer>();
    const cased = { Owner: 'ops', ProjectCode: 'p1', plain: 'ünïcödé' };
    const casedBody = randomBytes(3000);
    await source.uploadBlockBlob('fidelity/cased.txt', casedBody, casedBody.length, {
      blobHTTPHeaders: { blobContentType: 'text/plain', blobContentLanguage: 'de-CH', blobContentDisposition: 'inline' },
      metadata: cased,
      tags: { project: 'alpha', 'cost-center': '42' },
      tier: 'Cool',
    });
    bodies.set('fidelity/cased.txt', casedBody);
    // Over S3's 2 KB of metadata, and a tag S3 refuses: both go to the properties sidecar.
    const heavy = Object.fromEntries(Array.from({ length: 12 }, (_, index) => [`Field${index}`, 'x'.repeat(300)]));
    await source.uploadBlockBlob('fidelity/heavy.txt', 'heavy', 5, { metadata: heavy, tags: { 'aws:reserved': 'no', team: 'a' } });
    bodies.set('fidelity/heavy.txt', Buffer.from('heavy'));
    const append = source.getAppendBlobClient('fidelity/append.log');
    await append.create({ metadata: { LogKind: 'audit' }, blobHTTPHeaders: { blobContentType: 'text/x-log' } });
    for (const line of ['one\n', 'two\n', 'three\n']) await append.appendBlock(line, line.length);
    bodies.set('fidelity/append.log', Buffer.from('one\ntwo\nthree\n'));
    const page = source.getPageBlobClient('fidelity/page.vhd');
    await page.create(8192, { metadata: { DiskName: 'data' } });
    const written = [randomBytes(1024), randomBytes(512)] as const;
    await page.uploadPages(written[0], 512, written[0].length);
    await page.uploadPages(written[1], 4096, written[1].length);
    const pageBody = Buffer.alloc(8192);
    written[0].copy(pageBody, 512);
    written[1].copy(pageBody, 4096);
    bodies.set('fidelity/page.vhd', pageBody);
    for (const name of bodies.keys()) await backUp(stack, source, name);

    const target = containerOf(stack, 'restored-fidelity');
    const items: RestoreItem[] = [];
    const options = {
      source: { s3: restoreRoleS3(stack), bucket: stack.aws.bucket, keys, prefix: 'fidelity/' },
      onItem: (item: RestoreItem) => void items.push(item),
    };
    const summary = await restore({ ...options, target: { container: target } });
    expect(summary).toMatchObject({ restored: 4, verified: 4, unverifiable: 0, incomplete: 0, remaining: 0 });
    const byName = new Map(items.map((item) => [item.name, item]));
    expect(byName.get('fidelity/append.log')).toMatchObject({ version: { blobType: 'AppendBlob' }, path: 'streamed', check: 'md5' });
    expect(byName.get('fidelity/page.vhd')).toMatchObject({ version: { blobType: 'PageBlob' }, path: 'streamed' });
    expect(byName.get('fidelity/page.vhd')?.check).not.toBe('unverifiable');

    const expectRestored = async (container: ContainerClient) => {
      const listed = new Map<string, { blobType?: string; metadata?: Record<string, string> }>();
      for await (const item of container.listBlobsFlat({ includeMetadata: true }))
        listed.set(item.name, { ...item.properties, metadata: item.metadata ?? {} });
      // Only the blobs: no staging blob of an append or page blob is left behind.
      expect([...listed.keys()].filter((name) => name.startsWith('fidelity/') || name.startsWith('.blobferry')).sort()).toEqual(
        [...bodies.keys()].sort(),
      );
      for (const [name, body] of bodies) expect(sha256(await container.getBlobClient(name).downloadToBuffer()), name).toBe(sha256(body));
      expect(listed.get('fidelity/cased.txt')?.metadata).toEqual(cased);
      expect(listed.get('fidelity/heavy.txt')?.metadata).toEqual(heavy);
      expect(listed.get('fidelity/append.log')).toMatchObject({ blobType: 'AppendBlob', metadata: { LogKind: 'audit' } });
      expect(listed.get('fidelity/page.vhd')).toMatchObject({ blobType: 'PageBlob', metadata: { DiskName: 'data' } });
      for (const { metadata } of listed.values())
        expect(Object.keys(metadata ?? {}).filter((name) => name.toLowerCase().startsWith('source'))).toEqual([]);
      const casedProperties = await container.getBlobClient('fidelity/cased.txt').getProperties();
      expect(casedProperties).toMatchObject({
        contentType: 'text/plain',
        contentLanguage: 'de-CH',
        contentDisposition: 'inline',
        accessTier: 'Cool',
      });
      expect((await container.getBlobClient('fidelity/append.log').getProperties()).contentType).toBe('text/x-log');
      expect((await container.getBlobClient('fidelity/cased.txt').getTags()).tags).toEqual({ project: 'alpha', 'cost-center': '42' });
      expect((await container.getBlobClient('fidelity/heavy.txt').getTags()).tags).toEqual({ 'aws:reserved': 'no', team: 'a' });
    };
    await expectRestored(target);

    // Ransomware replaced the append and page blobs with block blobs: they come back as what they were.
    for (const name of ['fidelity/append.log', 'fidelity/page.vhd', 'fidelity/cased.txt'])
      await target.uploadBlockBlob(name, 'encrypted!', 10);
    const back = await restore({ ...options, target: { container: target, overwrite: true } });
    expect(back).toMatchObject({ restored: 3, conflicts: 0, remaining: 0 });
    expect(back.plan.identical.objects).toBe(1);
    await expectRestored(target);
    const rerun = await restore({ ...options, target: { container: target, overwrite: true } });
    expect(rerun).toMatchObject({ restored: 0, remaining: 0 });
    expect(rerun.plan.identical.objects).toBe(4);
  });
});
