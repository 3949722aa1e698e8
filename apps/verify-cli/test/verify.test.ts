import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { copyBlobToS3 } from '@blobferry/transfer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobferry, seedBackedUp, seedManyBackedUp, startLocalBackup, type LocalBackup } from './helpers/local-backup.js';

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

let backup: LocalBackup;

beforeAll(async () => {
  backup = await startLocalBackup();
}, 120_000);

afterAll(async () => {
  await backup?.stop();
});

const verify = (container: string, ...flags: string[]) =>
  blobferry(['verify', '--local', '--stack', backup.stackFile, '--container', container, ...flags]);

interface JsonReport {
  summary: Record<string, number | string>;
  differences: {
    key: string;
    kind: string;
    source: Record<string, unknown> | null;
    target: Record<string, unknown> | null;
    repair?: Record<string, unknown>;
  }[];
}

const kinds = (report: JsonReport) => Object.fromEntries(report.differences.map((difference) => [difference.key, difference.kind]));

/** Replaces the object with different bytes of equal length, as two parts, keeping its metadata. */
async function overwriteMultipartKeepingMetadata(key: string): Promise<void> {
  const { s3, bucket } = backup;
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const original = Buffer.from((await Body?.transformToByteArray()) ?? []);
  const corrupted = Buffer.from(original);
  corrupted[corrupted.length - 1] = (corrupted.at(-1) ?? 0) ^ 0xff;
  const firstPart = 5 * 1024 * 1024;
  const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: head.Metadata }));
  const parts = [];
  for (const [index, body] of [corrupted.subarray(0, firstPart), corrupted.subarray(firstPart)].entries()) {
    const part = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId, PartNumber: index + 1, Body: body }),
    );
    parts.push({ ETag: part.ETag, PartNumber: index + 1 });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }),
  );
}

describe('blobferry verify against the local cloud', () => {
  it('proves a clean backup in sync (exit 0) through the federated identity path', async () => {
    await seedBackedUp(backup, 'clean', { 'a.txt': 'alpha', 'dir/b.txt': 'bravo', 'dir/sub/c.txt': 'charlie', empty: '' });
    const stsRequestsBefore = backup.cloud.sts.requestCount();
    const result = await verify('clean', '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as JsonReport;
    expect(report.summary).toMatchObject({
      inSync: 4,
      missing: 0,
      extra: 0,
      sizeMismatch: 0,
      checksumMismatch: 0,
      stale: 0,
      unverifiable: 0,
      repaired: 0,
    });
    expect(report.summary.source).toContain('/clean/');
    expect(report.summary.target).toBe(`s3://${backup.bucket}/${backup.keyOf('clean', '')}`);
    expect(report.differences).toEqual([]);
    // AWS access came from STS (AssumeRoleWithWebIdentity with the backup identity's token), not from keys.
    expect(backup.cloud.sts.requestCount()).toBeGreaterThan(stsRequestsBefore);
  });

  it('finds missing, extra and stale shallowly, silent multipart corruption only with --deep, and --repair mends them', async () => {
    const big = randomBytes(5 * 1024 * 1024 + 100);
    await seedBackedUp(backup, 'drift', {
      'keep.txt': 'unchanged',
      'deleted.txt': 'to be deleted',
      'changed.txt': 'version-1',
      'big.bin': big,
    });
    const key = (name: string) => backup.keyOf('drift', name);
    await backup.s3.send(new DeleteObjectCommand({ Bucket: backup.bucket, Key: key('deleted.txt') }));
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.bucket, Key: key('only-in-s3.txt'), Body: 'extra' }));
    await backup.containerClient('drift').getBlockBlobClient('changed.txt').uploadData(Buffer.from('version-2'));
    await overwriteMultipartKeepingMetadata(key('big.bin'));

    const shallow = await verify('drift', '--json');
    expect(shallow.code).toBe(1);
    const shallowReport = JSON.parse(shallow.stdout) as JsonReport;
    expect(kinds(shallowReport)).toEqual({
      [key('deleted.txt')]: 'missing',
      [key('only-in-s3.txt')]: 'extra',
      [key('changed.txt')]: 'stale',
    });
    expect(shallowReport.summary).toMatchObject({ inSync: 2, missing: 1, extra: 1, stale: 1, checksumMismatch: 0 });
    const missing = shallowReport.differences.find((difference) => difference.kind === 'missing');
    expect(missing).toMatchObject({ source: { name: 'deleted.txt', size: 13 }, target: null });

    const deep = await verify('drift', '--deep', '--json');
    expect(deep.code).toBe(1);
    const deepReport = JSON.parse(deep.stdout) as JsonReport;
    expect(kinds(deepReport)).toEqual({
      [key('deleted.txt')]: 'missing',
      [key('only-in-s3.txt')]: 'extra',
      [key('changed.txt')]: 'stale',
      [key('big.bin')]: 'checksumMismatch',
    });
    // keep.txt by the CRC32 its copy stored; the rewritten big.bin has no full-object checksum, so both
    // sides were read (the CLI's S3 client leaves GET bodies to the MD5 it computes); stale needs no content.
    expect(deepReport.summary.deepChecks).toEqual({ storedChecksum: 1, bothSides: 1 });

    const dryRun = await verify('drift', '--deep', '--repair', '--dry-run', '--json');
    expect(dryRun.code).toBe(1);
    const planned = JSON.parse(dryRun.stdout) as JsonReport;
    expect(planned.differences.map((difference) => difference.repair?.status).sort()).toEqual(['planned', 'planned', 'planned', 'skipped']);
    expect(planned.summary.repaired).toBe(0);

    const repair = await verify('drift', '--deep', '--repair', '--json');
    const repaired = JSON.parse(repair.stdout) as JsonReport;
    expect(repaired.summary).toMatchObject({ repaired: 3, remaining: 1 });
    expect(repair.code).toBe(1); // the extra object is reported, not deleted
    expect((await verify('drift', '--deep', '--json')).code).toBe(1);

    const deleteExtra = await verify('drift', '--repair', '--delete-extra', '--json');
    expect(JSON.parse(deleteExtra.stdout).summary).toMatchObject({ extra: 1, repaired: 1, remaining: 0 });
    expect(deleteExtra.code).toBe(0);

    const after = await verify('drift', '--deep', '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout).summary).toMatchObject({ inSync: 4, missing: 0, extra: 0, stale: 0, checksumMismatch: 0 });
  });

  it('reports properties that differ with equal bytes: a tag change only with --properties, and --repair updates them in place', async () => {
    await seedBackedUp(backup, 'props', { 'tagged.txt': 'same bytes', 'plain.txt': 'untouched' });
    const key = (name: string) => backup.keyOf('props', name);
    // Set Blob Tags raises no event and changes neither the ETag nor Last-Modified.
    await backup.containerClient('props').getBlockBlobClient('tagged.txt').setTags({ team: 'ops' });

    const shallow = await verify('props', '--json');
    expect(shallow.code).toBe(0);
    const full = await verify('props', '--properties', '--json');
    expect(full.code).toBe(1);
    const report = JSON.parse(full.stdout) as JsonReport & { differences: { properties?: string[] }[] };
    expect(kinds(report)).toEqual({ [key('tagged.txt')]: 'propertiesDiffer' });
    expect(report.differences[0]?.properties).toEqual(['tags']);
    expect(report.summary).toMatchObject({ inSync: 1, propertiesDiffer: 1, remaining: 1 });

    const table = await verify('props', '--properties');
    expect(table.stdout).toMatch(/propertiesDiffer .*tagged\.txt {2}properties: tags/);
    expect(table.stdout).toMatch(/properties differ +1/);

    const repair = await verify('props', '--properties', '--repair', '--json');
    expect(JSON.parse(repair.stdout).differences[0].repair).toEqual({ action: 'copy', status: 'done', detail: 'updated in place: tags' });
    expect(repair.code).toBe(0);
    expect((await verify('props', '--properties', '--json')).code).toBe(0);
  });

  it('verifies non-ASCII and special-character names (Azurite lists them in UTF-16 order, S3 in UTF-8)', async () => {
    const names = [
      '\uFF61halfwidth',
      '\u{1F600}smile',
      'p/\u{1F600}',
      'p/\uFF61',
      'p/a',
      'p/\u{1F600}/\uE000',
      'p/\u{1F600}/\u{10000}',
      'a-b',
      'a/b',
      'a b',
      'a+b',
      'a%20b',
      'ä/ö/ü',
      '日本語/ファイル.txt',
      'sp ace/q?x=1&y#z',
      'quote\'"',
      'x.y',
      'x/y',
    ];
    await seedBackedUp(backup, 'names', Object.fromEntries(names.map((name) => [name, `bytes of ${name}`])));
    const clean = await verify('names', '--json');
    expect(clean.stderr).toBe('');
    expect(JSON.parse(clean.stdout).summary).toMatchObject({ inSync: names.length, missing: 0, extra: 0 });
    expect(clean.code).toBe(0);

    for (const name of ['p/\u{1F600}/\uE000', '\uFF61halfwidth', 'a-b']) {
      await backup.s3.send(new DeleteObjectCommand({ Bucket: backup.bucket, Key: backup.keyOf('names', name) }));
    }
    const drift = await verify('names', '--ndjson');
    expect(drift.code).toBe(1);
    const lines = drift.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const summary = lines.pop();
    expect(summary.summary).toMatchObject({ inSync: names.length - 3, missing: 3, extra: 0 });
    expect(lines.map((line) => [line.kind, line.source.name]).sort()).toEqual(
      [
        ['missing', 'a-b'],
        ['missing', 'p/\u{1F600}/\uE000'],
        ['missing', '\uFF61halfwidth'],
      ].sort(),
    );
    for (const line of lines) expect(Object.keys(line).sort()).toEqual(['key', 'kind', 'source', 'target']);

    const scoped = await verify('names', '--prefix', 'p/', '--json');
    expect(JSON.parse(scoped.stdout).summary).toMatchObject({ inSync: 4, missing: 1 });
  });

  it('maps names through --key-layout and --target-prefix, and --prefix on both sides', async () => {
    const client = backup.containerClient('layout');
    await client.createIfNotExists();
    for (const name of ['in/one.txt', 'in/two.txt', 'out/three.txt']) {
      const blob = client.getBlockBlobClient(name);
      await blob.uploadData(Buffer.from(name));
      await copyBlobToS3({ source: { blob }, target: { s3: backup.s3, bucket: backup.bucket, key: `alt/${name}` } });
    }
    const flags = ['--key-layout', 'blob', '--target-prefix', 'alt/', '--json'];
    const all = await verify('layout', ...flags);
    expect(JSON.parse(all.stdout).summary).toMatchObject({ inSync: 3, missing: 0, extra: 0, target: `s3://${backup.bucket}/alt/` });
    expect(all.code).toBe(0);
    const scoped = await verify('layout', '--prefix', 'in/', ...flags);
    expect(JSON.parse(scoped.stdout).summary).toMatchObject({ inSync: 2, target: `s3://${backup.bucket}/alt/in/` });
    // With the default layout the same objects are not where the backup would put them.
    const defaultLayout = JSON.parse((await verify('layout', '--json')).stdout);
    expect(defaultLayout.summary).toMatchObject({ inSync: 0, missing: 3 });
  });

  it('calls a blob without Content-MD5 unverifiable (exit 1) until --deep hashes both sides', async () => {
    await seedBackedUp(backup, 'nomd5', { 'plain.txt': 'has an MD5' });
    const blob = backup.containerClient('nomd5').getBlockBlobClient('blocks.bin');
    const blockId = Buffer.from('block-1').toString('base64');
    await blob.stageBlock(blockId, Buffer.from('committed from a block list'), 27);
    await blob.commitBlockList([blockId]); // a block list carries no Content-MD5
    expect((await blob.getProperties()).contentMD5).toBeUndefined();
    await copyBlobToS3({ source: { blob }, target: { s3: backup.s3, bucket: backup.bucket, key: backup.keyOf('nomd5', 'blocks.bin') } });

    const shallow = await verify('nomd5', '--json');
    expect(shallow.code).toBe(1);
    expect(kinds(JSON.parse(shallow.stdout) as JsonReport)).toEqual({ [backup.keyOf('nomd5', 'blocks.bin')]: 'unverifiable' });
    const deep = await verify('nomd5', '--deep', '--json');
    expect(JSON.parse(deep.stdout).summary).toMatchObject({ inSync: 2, unverifiable: 0 });
    expect(deep.code).toBe(0);
  });

  it('says how --deep checked each object: by the checksum S3 stores (the copy writes one), or by reading both sides', async () => {
    await seedBackedUp(backup, 'deep-ways', { 'copied.txt': 'backed up by blobferry', 'copied.bin': randomBytes(9 * 1024 * 1024) });
    await seedManyBackedUp(backup, 'deep-ways', ['other-tool.txt']); // a PutObject without any checksum

    const json = await verify('deep-ways', '--deep', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).summary).toMatchObject({ inSync: 3, deepChecks: { storedChecksum: 2, bothSides: 1 } });
    const table = await verify('deep-ways', '--deep');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/\ndeep: S3 checksum +2\ndeep: both sides +1\n/);
    // Without --deep nothing reads content, so there are no deep checks to count.
    expect(JSON.parse((await verify('deep-ways', '--json')).stdout).summary).not.toHaveProperty('deepChecks');
    expect((await verify('deep-ways')).stdout).not.toMatch(/deep:/);
  });

  it('prints a table by default; progress on stderr only when it is a terminal', async () => {
    await seedBackedUp(backup, 'table', { 'one.txt': 'one' });
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.bucket, Key: backup.keyOf('table', 'two.txt'), Body: 'two' }));
    const result = await verify('table');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^KIND\s+SOURCE SIZE\s+TARGET SIZE\s+KEY\n/);
    expect(result.stdout).toMatch(/extra\s+-\s+3\s+\S*table\/two\.txt\n/);
    expect(result.stdout).toMatch(/in sync\s+1\n/);
    const countLines = result.stdout.split('\n').filter((line) => /^[a-z ]+ +\d+$/.test(line));
    expect(countLines.length).toBeGreaterThanOrEqual(8);
    expect(new Set(countLines.map((line) => line.length)).size).toBe(1); // counts right-aligned in one column

    const onTerminal = await blobferry(['verify', '--local', '--stack', backup.stackFile, '--container', 'table', '--json'], {
      isTTY: true,
    });
    expect(onTerminal.stderr.startsWith('\r\u001b[K')).toBe(true); // redrawn in place
    expect(onTerminal.stderr).toMatch(/2 objects {2}\d+ B {2}\d+ objects\/s/);
    expect(JSON.parse(onTerminal.stdout).summary.extra).toBe(1);
  });

  it('exits 2 with the fix named for usage, configuration and missing resources', async () => {
    const noStack = await blobferry(['verify', '--local', '--stack', '/nonexistent/stack.json']);
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toMatch(/npm start/);

    const unknownOption = await blobferry(['verify', '--no-such-flag']);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.stderr).toMatch(/unknown option/);

    const dryRunAlone = await verify('clean', '--dry-run');
    expect(dryRunAlone.code).toBe(2);
    expect(dryRunAlone.stderr).toMatch(/add --repair/);

    const bothFormats = await verify('clean', '--json', '--ndjson');
    expect(bothFormats.code).toBe(2);

    const noSource = await blobferry(['verify', '--bucket', 'b', '--container', 'c']);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toMatch(/--account-url/);

    const noContainer = await verify('no-such-container');
    expect(noContainer.code).toBe(2);
    expect(noContainer.stderr).toMatch(/container does not exist/);

    const help = await blobferry(['verify', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--delete-extra/);

    const version = await blobferry(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${packageJson.version}\n`, stderr: '' });
  });

  // What `npx blobferry` runs: the linked bin, without the source condition, built on first use if need be.
  it('runs through its bin as installed, printing the version', async () => {
    const bin = fileURLToPath(new URL('../bin/blobferry.js', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [bin, '--version'], { env: { PATH: process.env.PATH ?? '' } });
    expect(stdout.trim().split('\n').at(-1)).toBe(packageJson.version);
  }, 120_000);

  it('keeps the compiled bundle in the compile cache, so the next start compiles nothing', async () => {
    const bin = fileURLToPath(new URL('../bin/blobferry.js', import.meta.url));
    const tmp = await mkdtemp(join(tmpdir(), 'blobferry-compile-cache-'));
    try {
      await promisify(execFile)(process.execPath, [bin, '--version'], { env: { PATH: process.env.PATH ?? '', TMPDIR: tmp } });
      const cached = await readdir(join(tmp, 'node-compile-cache'), { recursive: true });
      expect(cached.length).toBeGreaterThan(0);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
