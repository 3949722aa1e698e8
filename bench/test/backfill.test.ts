import { describe, expect, it } from 'vitest';
import { backfillArgs, backfillEnv, expectAllEnqueued } from '../src/backfill-cli.ts';
import { VERIFY_BIN } from '../src/verify-cli.ts';
import { approximateMessagesOf } from '../src/endpoint-ops.ts';
import { LARGE_SIZES, estateBlobs, totalBytes } from '../src/estate.ts';
import { PROFILES } from '../src/profile.ts';

const MiB = 1024 * 1024;

describe('the estate a backfill copies', () => {
  it('mixes sizes: the large blobs first, then about 2 MiB, empty and small ones, in ten folders', () => {
    const blobs = estateBlobs(2000, 3);
    expect(blobs).toHaveLength(2000);
    expect(blobs.slice(0, 3).map((blob) => blob.size)).toEqual([...LARGE_SIZES]);
    expect(blobs.filter((blob) => blob.size > 16 * MiB)).toHaveLength(3);
    expect(blobs.filter((blob) => blob.size === 0).length).toBeGreaterThan(50);
    const medium = blobs.filter((blob) => blob.size >= 2 * MiB && blob.size < 16 * MiB);
    expect(medium).toHaveLength(19); // every 100th but the first (a large one)
    const small = blobs.filter((blob) => blob.size > 0 && blob.size < 2 * MiB);
    expect(Math.min(...small.map((blob) => blob.size))).toBeGreaterThanOrEqual(1024);
    expect(Math.max(...small.map((blob) => blob.size))).toBeLessThanOrEqual(256 * 1024);
    expect(new Set(blobs.map((blob) => blob.name)).size).toBe(2000);
    expect(new Set(blobs.map((blob) => blob.name.split('/')[1]))).toHaveLength(10);
    expect(blobs[1]).toEqual({ name: 'estate/d1/f000001.bin', size: 20 * MiB + 1 });
  });

  it('is the same set every time, and the profiles ask for the sizes the issue names', () => {
    expect(estateBlobs(200, 2)).toEqual(estateBlobs(200, 2));
    expect(
      totalBytes([
        { name: 'a', size: 3 },
        { name: 'b', size: 4 },
      ]),
    ).toBe(7);
    const quick = estateBlobs(PROFILES.quick.backfill.count, PROFILES.quick.backfill.largeCount);
    expect(quick).toHaveLength(200);
    expect(quick.filter((blob) => blob.size > 16 * MiB)).toHaveLength(2);
    const full = estateBlobs(PROFILES.full.backfill.count, PROFILES.full.backfill.largeCount);
    expect(full.filter((blob) => blob.size > 16 * MiB)).toHaveLength(3);
  });

  it('refuses more large blobs than it has sizes for, or than fit', () => {
    expect(() => estateBlobs(10, 4)).toThrow(/at most 3/);
    expect(() => estateBlobs(1, 2)).toThrow(/do not fit/);
  });
});

describe('blobferry backfill as the bench runs it', () => {
  it('names the CLI by path and takes everything but the container, prefix and journal from the stack file', () => {
    const args = backfillArgs({
      stackFile: '/w/stack.json',
      container: 'estate',
      targetPrefix: 'backfill/blobferry/0/',
      journal: '/w/j-0.ndjson',
      concurrency: 16,
    });
    expect(args[0]).toBe(VERIFY_BIN);
    expect(VERIFY_BIN).toMatch(/apps\/verify-cli\/dist\/main\.js$/);
    expect(args.slice(1)).toEqual([
      'backfill',
      '--local',
      '--stack',
      '/w/stack.json',
      '--container',
      'estate',
      '--target-prefix',
      'backfill/blobferry/0/',
      '--journal',
      '/w/j-0.ndjson',
      '--concurrency',
      '16',
      '--no-progress',
      '--json',
    ]);
  });

  it("runs the CLI without the bench's AWS_* and AZURE_* variables", () => {
    process.env.AWS_PROFILE = 'someone';
    process.env.AZURE_CLIENT_ID = 'someone';
    try {
      const env = backfillEnv();
      expect(env.AWS_PROFILE).toBeUndefined();
      expect(env.AZURE_CLIENT_ID).toBeUndefined();
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.AWS_PROFILE;
      delete process.env.AZURE_CLIENT_ID;
    }
  });

  it('accepts a summary only when every blob was missing and enqueued once', () => {
    const stdout = (summary: Record<string, number>) =>
      JSON.stringify({
        summary: { missing: 3, enqueued: 3, alreadyQueued: 0, remaining: 0, durationMs: 120, ...summary },
        differences: [],
      });
    expect(expectAllEnqueued(stdout({}), 3)).toMatchObject({ enqueued: 3, durationMs: 120 });
    expect(() => expectAllEnqueued(stdout({ enqueued: 0, alreadyQueued: 3 }), 3)).toThrow(/enqueued 0 of 3/);
    expect(() => expectAllEnqueued(stdout({ missing: 2, enqueued: 2 }), 3)).toThrow(/enqueued 2 of 3/);
  });

  it("reads the queue's length from Get Queue Metadata's header", () => {
    expect(approximateMessagesOf({ 'x-ms-approximate-messages-count': '42' })).toBe(42);
    expect(approximateMessagesOf({ 'x-ms-approximate-messages-count': ['7'] })).toBe(7);
    expect(approximateMessagesOf({})).toBeNaN();
  });
});
