import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, type BlobItem, type ContainerClient } from '@azure/storage-blob';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { blobferry, sourceContainer, WITHOUT_SWEEP } from './support.js';

// The restore's proof through the real path: blobs backed up by the Function (events -> queue -> host) on a
// stack with DELETE_POLICY=delete-marker, then `blobferry restore --as-of T0` as the local person on the
// read-only restore role: into a new container (exactly the T0 set), and over the original after "ransomware".

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * What a restore must give back of a blob: its bytes, blob type, access tier, content headers, metadata (names
 * as List Blobs spells them: Azure keeps their case, S3 lower-cases them) and index tags.
 */
interface BlobState {
  sha256: string;
  blobType: string | undefined;
  accessTier: string | undefined;
  contentType: string | undefined;
  cacheControl: string | undefined;
  contentLanguage: string | undefined;
  contentDisposition: string | undefined;
  metadata: Record<string, string>;
  tags: Record<string, string>;
}

async function stateOf(container: ContainerClient, item: BlobItem): Promise<BlobState> {
  const blob = container.getBlobClient(item.name);
  const { properties } = item;
  return {
    sha256: sha256(await blob.downloadToBuffer()),
    blobType: properties.blobType,
    accessTier: properties.accessTier,
    contentType: properties.contentType,
    cacheControl: properties.cacheControl,
    contentLanguage: properties.contentLanguage,
    contentDisposition: properties.contentDisposition,
    metadata: item.metadata ?? {},
    tags: (await blob.getTags()).tags,
  };
}

async function snapshot(container: ContainerClient): Promise<Map<string, BlobState>> {
  const states = new Map<string, BlobState>();
  const limit = pLimit(16);
  const items: BlobItem[] = [];
  for await (const item of container.listBlobsFlat({ includeMetadata: true })) items.push(item);
  await Promise.all(items.map((item) => limit(async () => states.set(item.name, await stateOf(container, item)))));
  return states;
}

/** The provenance keys a backup writes (`source-*`) never reach a restored blob. */
function expectNoProvenance(states: Map<string, BlobState>): void {
  for (const [name, state] of states) {
    expect(
      Object.keys(state.metadata).filter((key) => key.toLowerCase().startsWith('source')),
      name,
    ).toEqual([]);
  }
}

const HARD_NAMES = [
  'dir//double//slash.txt',
  '/leading-slash.txt',
  'trailing-slash/',
  'dots/.hidden/..twice/...three/.txt',
  'percent %41 %zz 100%.txt',
  'plus+and?query#fragment.txt',
  'spaces and\ttabs.txt',
  'caf\u00e9.txt',
  'cafe\u0301.txt',
  'emoji 🚀🦀 ✓.txt',
];

describe('blobferry restore through the Function fleet', () => {
  let workDir: string;
  let stackFile: string;
  let stack: BackupStack;
  let source: ContainerClient;
  let local: string[];

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'blobferry-restore-'));
    stackFile = join(workDir, 'stack.json');
    // No sweep: it would back up the blob whose event was lost before the test backfills it after T0.
    stack = await startBackupStack({
      stackFile,
      settings: { ...WITHOUT_SWEEP, DELETE_POLICY: 'delete-marker' },
      startHost: false,
      log: () => undefined,
    });
    source = sourceContainer(stack.cloud.stack);
    local = ['--local', '--stack', stackFile];
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  it('restores exactly the set at T0, then every original over the blobs ransomware replaced', { timeout: 900_000 }, async () => {
    // A blob whose event was lost: written before T0, backed up (by a backfill) only after it.
    await source.getBlockBlobClient('late/backfilled.txt').upload('written before T0, backed up after', 34);
    await stack.cloud.events.idle();
    await stack.queue.clearMessages();
    await stack.startHost();

    const limit = pLimit(16);
    const names = [
      ...HARD_NAMES,
      ...Array.from({ length: 200 }, (_, index) => `set/${String(index).padStart(3, '0')}-${index % 9 === 0 ? 'Ünï' : 'plain'}.bin`),
    ];
    const sizeOf = (index: number) =>
      index === 0 ? 0 : index === 1 ? 9 * MiB + 7 : index % 13 === 0 ? 256 * 1024 + index : 1 + ((index * 7919) % 20_000);
    await Promise.all(
      names.map((name, index) =>
        limit(() =>
          source.getBlockBlobClient(name).uploadData(randomBytes(sizeOf(index)), {
            blobHTTPHeaders: {
              blobContentType: index % 2 === 0 ? 'application/x-test' : 'text/plain; charset=utf-8',
              ...(index % 3 === 0 ? { blobCacheControl: 'max-age=3600', blobContentLanguage: 'de-CH' } : {}),
              ...(index % 5 === 0 ? { blobContentDisposition: `attachment; filename="f${index}.bin"` } : {}),
            },
            metadata: index % 4 === 0 ? { Owner: 'ops', ProjectCode: `p${index}`, note: 'ünïcödé' } : {},
            ...(index % 6 === 0 ? { tags: { project: `p${index}`, Team: 'Ops', 'cost/center': '4+2=6' } } : {}),
            ...(index % 7 === 0 ? { tier: 'Cool' } : {}),
          }),
        ),
      ),
    );
    const append = source.getAppendBlobClient('special/append.log');
    await append.create({ metadata: { LogKind: 'audit' }, blobHTTPHeaders: { blobContentType: 'text/x-log' }, tags: { kind: 'log' } });
    for (const line of ['one\n', 'two\n', 'three\n']) await append.appendBlock(line, line.length);
    const page = source.getPageBlobClient('special/page.vhd');
    await page.create(4096, { metadata: { DiskName: 'data' }, tags: { kind: 'disk' } });
    const pages = randomBytes(1024);
    await page.uploadPages(pages, 512, pages.length);
    const deletedBeforeT0 = names.filter((_, index) => index % 17 === 5);
    for (const name of deletedBeforeT0) await source.deleteBlob(name);
    await stack.drained({ timeoutMs: 300_000 });
    // AppendBlock and PutPage raise no event: a backfill brings their backups up to date, as the sweep would
    // (exit 1: the page blob has no MD5 on either side, so it stays `unverifiable` to a shallow listing).
    expect(
      (await blobferry(['backfill', ...local, '--prefix', 'special/', '--journal', join(workDir, 'journal.ndjson')])).code,
    ).toBeLessThan(2);
    await stack.drained({ timeoutMs: 120_000 });

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const t0 = new Date().toISOString();
    const atT0 = await snapshot(source);
    // What the restore must give back, present at T0 as the source has it.
    expect(atT0.get('special/append.log')).toMatchObject({ blobType: 'AppendBlob', metadata: { LogKind: 'audit' }, tags: { kind: 'log' } });
    expect(atT0.get('special/page.vhd')).toMatchObject({ blobType: 'PageBlob', metadata: { DiskName: 'data' }, tags: { kind: 'disk' } });
    expect(atT0.get('set/002-plain.bin')).toMatchObject({ metadata: { Owner: 'ops', ProjectCode: 'p12' }, tags: { Team: 'Ops' } });
    expect([...atT0.values()].filter((state) => state.accessTier === 'Cool').length).toBeGreaterThan(10);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    // After T0: overwrite 10%, delete 10%, add new ones; then the lost blob is backfilled.
    const alive = names.filter((name) => !deletedBeforeT0.includes(name));
    const overwritten = alive.filter((_, index) => index % 10 === 1);
    const deletedAfter = alive.filter((_, index) => index % 10 === 2);
    for (const name of overwritten) await source.getBlockBlobClient(name).upload('changed after T0', 16);
    for (const name of deletedAfter) await source.deleteBlob(name);
    for (let index = 0; index < 20; index++) await source.getBlockBlobClient(`new/after-t0-${index}.txt`).upload('new', 3);
    await stack.drained({ timeoutMs: 300_000 });
    expect((await blobferry(['backfill', ...local, '--prefix', 'late/', '--journal', join(workDir, 'journal.ndjson')])).code).toBe(0);
    await stack.drained({ timeoutMs: 120_000 });

    const restored = await blobferry(['restore', ...local, '--as-of', t0, '--to', 'restored-t0', '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    const report = JSON.parse(restored.stdout) as { summary: Record<string, unknown> & { plan: Record<string, { objects: number }> } };
    expect(report.summary).toMatchObject({ verified: atT0.size, unverifiable: 0, remaining: 0 });
    const service = BlobServiceClient.fromConnectionString(stack.cloud.stack.azure.connectionString);
    const inNew = await snapshot(service.getContainerClient('restored-t0'));
    expect([...inNew.keys()].sort()).toEqual([...atT0.keys()].sort());
    for (const [name, state] of atT0) expect(inNew.get(name), name).toEqual(state);
    expectNoProvenance(inNew);
    expect(inNew.has('late/backfilled.txt')).toBe(true);
    for (const name of deletedBeforeT0) expect(inNew.has(name)).toBe(false);
    expect([...inNew.keys()].some((name) => name.startsWith('new/'))).toBe(false);

    // Ransomware: every blob overwritten with garbage (and backed up as such), a note left behind.
    for await (const blob of source.listBlobsFlat()) await source.getBlockBlobClient(blob.name).upload('encrypted!!', 11);
    await source.getBlockBlobClient('README-RANSOM.txt').upload('pay', 3);
    await stack.drained({ timeoutMs: 300_000 });

    const back = await blobferry(['restore', ...local, '--as-of', t0, '--to', source.containerName, '--overwrite', '--json']);
    // Every original is back; what did not exist at T0 (the note, blobs added since) is reported, not removed.
    expect(back.code, back.stderr).toBe(1);
    const backReport = JSON.parse(back.stdout) as { summary: { plan: Record<string, { objects: number }>; conflicts: number } };
    expect(backReport.summary.conflicts).toBe(0);
    expect(backReport.summary.plan['extra']?.objects).toBe(21);
    const inPlace = await snapshot(source);
    for (const [name, state] of atT0) expect(inPlace.get(name), name).toEqual(state);
    expectNoProvenance(inPlace);

    await stack.drained({ timeoutMs: 300_000 });
    const cleaned = await blobferry([
      'restore',
      ...local,
      '--as-of',
      t0,
      '--to',
      source.containerName,
      '--overwrite',
      '--remove-extras',
      '--yes',
    ]);
    expect(cleaned.code, cleaned.stderr).toBe(0);
    expect([...(await snapshot(source)).keys()].sort()).toEqual([...atT0.keys()].sort());
  });
});
