// A restore whose process dies half way: `blobferry restore` runs as its own OS process and is SIGKILLed once about
// half of a 1 GiB blob is staged at the target. The rerun reads from S3 only what was not staged, and the blob is
// never visible before the final commit. S3's bytes are counted by the local cloud's proxy in front of S3, not by
// the tool.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { BlockBlobClient } from '@azure/storage-blob';
import { DEFAULT_BLOCK_BYTES } from '@blobferry/restore';
import { copyBlobToS3 } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BLOBFERRY_BIN, buildBlobferryBin } from './helpers/built-bin.js';
import { startLocalBackup, type LocalBackup } from './helpers/local-backup.js';

const MiB = 1024 * 1024;
/** Over the single-shot size (256 MiB), so the restore stages it in blocks of the default size. */
const BLOB_BYTES = 1024 * MiB;
const SOURCE = 'disks';
const NAME = 'images/disk-1g.img';
const TARGET = 'disks-resumed';

/** One pseudo-random MiB (xorshift32, fixed seed): the same bytes every run, generated in milliseconds. */
function patternMiB(): Buffer {
  const pattern = Buffer.alloc(MiB);
  let state = 0x9e3779b9;
  for (let offset = 0; offset < MiB; offset += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    pattern.writeUInt32LE(state >>> 0, offset);
  }
  return pattern;
}

/** The blob's bytes in `blockBytes` pieces: the pattern in every MiB, each stamped with its MiB's index so no two blocks are equal. */
function* contentInBlocks(blockBytes: number): Generator<Buffer> {
  const pattern = patternMiB();
  for (let start = 0; start < BLOB_BYTES; start += blockBytes) {
    const block = Buffer.allocUnsafe(Math.min(blockBytes, BLOB_BYTES - start));
    for (let offset = 0; offset < block.length; offset += MiB) {
      pattern.copy(block, offset);
      block.writeUInt32LE((start + offset) / MiB, offset);
    }
    yield block;
  }
}

/** Uploads the blob block by block with its Content-MD5 (as azcopy --put-md5 would); resolves to its sha256. */
async function uploadBlob(blob: BlockBlobClient): Promise<string> {
  const sha256 = createHash('sha256');
  const md5 = createHash('md5');
  const blockIds: string[] = [];
  const inFlight = new Set<Promise<void>>();
  for (const block of contentInBlocks(DEFAULT_BLOCK_BYTES)) {
    sha256.update(block);
    md5.update(block);
    const blockId = Buffer.from(`block-${String(blockIds.length).padStart(6, '0')}`).toString('base64');
    blockIds.push(blockId);
    const staged: Promise<void> = blob.stageBlock(blockId, block, block.length).then(() => void inFlight.delete(staged));
    inFlight.add(staged);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await blob.commitBlockList(blockIds, { blobHTTPHeaders: { blobContentMD5: md5.digest() } });
  return sha256.digest('hex');
}

async function sha256Of(blob: BlockBlobClient): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of (await blob.download()).readableStreamBody ?? []) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface RestoreProcess {
  /** Kills the process (by its own pid) with SIGKILL. */
  kill(): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** `blobferry restore` as its own process, as a user starts it. */
function startRestore(args: string[]): RestoreProcess {
  const child = spawn(process.execPath, [BLOBFERRY_BIN, 'restore', ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<Awaited<RestoreProcess['exited']>>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { kill: () => void child.kill('SIGKILL'), exited };
}

/** What the target shows of the blob at one moment: bytes staged (uncommitted) and, once it is visible, its length. */
interface TargetLook {
  stagedBytes: number;
  visibleBytes: number | undefined;
}

async function lookAt(blob: BlockBlobClient): Promise<TargetLook> {
  const staged = await blob.getBlockList('uncommitted').catch(() => undefined);
  const properties = await blob.getProperties().catch(() => undefined);
  return {
    stagedBytes: (staged?.uncommittedBlocks ?? []).reduce((sum, block) => sum + block.size, 0),
    visibleBytes: properties?.contentLength,
  };
}

/** Looks at the target every few ms until `until` settles, calling `onLook` with each look. */
async function watchTarget(blob: BlockBlobClient, until: Promise<unknown>, onLook: (look: TargetLook) => void): Promise<TargetLook[]> {
  let settled = false;
  void until.finally(() => (settled = true)).catch(() => undefined);
  const looks: TargetLook[] = [];
  while (!settled) {
    const look = await lookAt(blob);
    looks.push(look);
    onLook(look);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return looks;
}

/** A byte count once it has stopped growing for a second (a killed reader's GET keeps draining behind the proxy for a while). */
async function settled(count: () => number): Promise<number> {
  let last = count();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = count();
    if (now === last) return now;
    last = now;
  }
}

describe('blobferry restore of a 1 GiB blob, killed half way', () => {
  let backup: LocalBackup;
  let sourceSha256: string;
  let seedMs: number;

  beforeAll(async () => {
    const started = Date.now();
    await buildBlobferryBin();
    // The stack's endpoints are the fault proxy's, which counts the bytes each cloud served.
    backup = await startLocalBackup({ faultProxy: true });
    const source = backup.containerClient(SOURCE);
    await source.create();
    const blob = source.getBlockBlobClient(NAME);
    sourceSha256 = await uploadBlob(blob);
    // As the backup copies it: a multipart object with the full-object CRC32 and the source's MD5 recorded.
    await copyBlobToS3({ source: { blob }, target: { s3: backup.s3, bucket: backup.bucket, key: backup.keyOf(SOURCE, NAME) } });
    seedMs = Date.now() - started;
  }, 900_000);
  afterAll(async () => {
    await backup?.stop();
  });

  it('resumes after SIGKILL reading at most 55% of the blob again, and nothing partial is ever visible', async ({ annotate }) => {
    const args = ['--local', '--stack', backup.stackFile, '--container', SOURCE, '--name', NAME, '--to', TARGET, '--json'];
    const target = backup.containerClient(TARGET).getBlockBlobClient(NAME);
    const faults = backup.cloud.faults;
    if (!faults) throw new Error('the local cloud was started without its fault proxy');

    const killedStarted = Date.now();
    const killed = startRestore(args);
    let stagedAtKill: number | undefined;
    const killedLooks = await watchTarget(target, killed.exited, (look) => {
      if (stagedAtKill === undefined && look.stagedBytes >= BLOB_BYTES / 2) {
        stagedAtKill = look.stagedBytes;
        killed.kill();
      }
    });
    const killedExit = await killed.exited;
    const killedMs = Date.now() - killedStarted;
    expect(killedExit.signal, killedExit.stderr).toBe('SIGKILL');
    expect(stagedAtKill).toBeDefined();
    const s3BytesBefore = await settled(() => faults.traffic('s3').responseBytes);
    // What the rerun finds: the blocks staged before the process died, in flight ones included.
    const afterKill = await lookAt(target);
    const fractionAtKill = (stagedAtKill ?? 0) / BLOB_BYTES;
    const fractionLeft = afterKill.stagedBytes / BLOB_BYTES;
    expect(fractionAtKill).toBeGreaterThanOrEqual(0.4);
    expect(fractionAtKill).toBeLessThanOrEqual(0.6);
    expect(fractionLeft).toBeGreaterThanOrEqual(0.4);
    expect(fractionLeft).toBeLessThanOrEqual(0.6);
    expect(killedLooks.some((look) => look.stagedBytes > 0)).toBe(true);
    expect(killedLooks.every((look) => look.visibleBytes === undefined)).toBe(true);
    expect(afterKill.visibleBytes).toBeUndefined();

    const rerunStarted = Date.now();
    const rerun = startRestore(args);
    const rerunLooks = await watchTarget(target, rerun.exited, () => undefined);
    const rerunExit = await rerun.exited;
    const rerunMs = Date.now() - rerunStarted;
    const s3BytesRead = faults.traffic('s3').responseBytes - s3BytesBefore;
    expect(rerunExit.code, rerunExit.stderr).toBe(0);
    // Visible only whole: the one commit makes the blob appear at its full length.
    expect(rerunLooks.every((look) => look.visibleBytes === undefined || look.visibleBytes === BLOB_BYTES)).toBe(true);

    const { summary, items } = JSON.parse(rerunExit.stdout) as {
      summary: { restored: number; verified: number; remaining: number; bytesStreamed: number };
      items: Array<{ name: string; outcome: string; check?: string; path?: string }>;
    };
    expect(summary).toMatchObject({ restored: 1, verified: 1, remaining: 0 });
    expect(items).toEqual([expect.objectContaining({ name: NAME, outcome: 'restored', check: 'crc32', path: 'streamed' })]);
    // Read again: at least what was not staged, at most about half of the blob.
    expect(s3BytesRead).toBeGreaterThanOrEqual(BLOB_BYTES - afterKill.stagedBytes);
    expect(s3BytesRead).toBeLessThanOrEqual(0.55 * BLOB_BYTES);
    expect(Math.abs(summary.bytesStreamed - s3BytesRead)).toBeLessThanOrEqual(DEFAULT_BLOCK_BYTES);
    expect(await sha256Of(target)).toBe(sourceSha256);

    const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;
    await annotate(
      `seed ${(seedMs / 1000).toFixed(1)} s; killed after ${(killedMs / 1000).toFixed(1)} s with ${percent(fractionAtKill)} staged ` +
        `(${percent(fractionLeft)} once it died); rerun ${(rerunMs / 1000).toFixed(1)} s reading ${percent(s3BytesRead / BLOB_BYTES)} ` +
        `(${s3BytesRead} bytes through the S3 proxy, ${summary.bytesStreamed} by its own count)`,
    );
  }, 900_000);
});
