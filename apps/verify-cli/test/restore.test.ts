import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/run.js';
import { startLocalBackup, seedBackedUp, type LocalBackup } from './helpers/local-backup.js';

// `blobferry restore` and `credentials --show-claims` against the local cloud, in process: `--local` acts as the
// local person (token sub != object id) on the read-only restore role; exit codes as verify's.

async function blobferry(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exitCode = await run(args, {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    env: process.env,
  });
  return { exitCode, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('blobferry restore --local', () => {
  let backup: LocalBackup;
  let local: string[];
  const CONTAINER = 'photos';
  const blobs = { 'a.jpg': 'first photo', 'b.jpg': 'second photo', 'a.jpg.bak': 'an old copy', 'gone.jpg': 'deleted later' };

  beforeAll(async () => {
    backup = await startLocalBackup();
    local = ['--local', '--stack', backup.stackFile, '--container', CONTAINER];
    await seedBackedUp(backup, CONTAINER, blobs);
    await backup.containerClient(CONTAINER).deleteBlob('gone.jpg');
    await backup.s3.send(new DeleteObjectCommand({ Bucket: backup.bucket, Key: backup.keyOf(CONTAINER, 'gone.jpg') }));
  }, 180_000);
  afterAll(async () => {
    await backup?.stop();
  });

  it('plans with --dry-run (counts and bytes per kind) and writes nothing', async () => {
    const result = await blobferry(['restore', ...local, '--to', 'planned', '--dry-run', '--json']);
    expect(result.exitCode).toBe(0);
    const { summary } = JSON.parse(result.stdout) as {
      summary: { plan: Record<string, { objects: number; bytes: number }>; dryRun: boolean };
    };
    expect(summary.dryRun).toBe(true);
    expect(summary.plan['restore']).toEqual({ objects: 3, bytes: 'first photo'.length + 'second photo'.length + 'an old copy'.length });
    expect(summary.plan['deletedAtT']?.objects).toBe(1);
    expect(await backup.containerClient('planned').exists()).toBe(false);
  });

  it('restores into a new container by default, verified, and exits 0', async () => {
    const result = await blobferry(['restore', ...local]);
    expect(result.exitCode, result.stderr).toBe(0);
    const name = /\/(photos-restored-\d{14})\//.exec(result.stdout)?.[1] ?? '';
    expect(name).toMatch(/^photos-restored-\d{14}$/);
    expect((await backup.containerClient(name).getBlobClient('b.jpg').downloadToBuffer()).toString()).toBe('second photo');
    expect(result.stdout).toMatch(/verified\s+3/);
  });

  it('restores one blob by its exact name, and --include-deleted brings a deleted one back', async () => {
    const one = await blobferry(['restore', ...local, '--to', 'just-a', '--name', 'a.jpg', '--json']);
    expect(one.exitCode).toBe(0);
    const names: string[] = [];
    for await (const blob of backup.containerClient('just-a').listBlobsFlat()) names.push(blob.name);
    expect(names).toEqual(['a.jpg']);
    const deleted = await blobferry(['restore', ...local, '--to', 'with-deleted', '--name', 'gone.jpg', '--include-deleted']);
    expect(deleted.exitCode).toBe(0);
    expect((await backup.containerClient('with-deleted').getBlobClient('gone.jpg').downloadToBuffer()).toString()).toBe('deleted later');
  });

  it('lists the restore points of one blob', async () => {
    const result = await blobferry(['restore', ...local, '--list-versions', 'gone.jpg', '--json']);
    expect(result.exitCode).toBe(0);
    const { points } = JSON.parse(result.stdout) as { points: Array<{ kind: string }> };
    expect(points.map((point) => point.kind)).toEqual(['deleteMarker', 'version']);
  });

  it.each([
    [['--as-of', 'yesterday'], /--as-of "yesterday" is not a time/],
    [['--as-of', '2999-01-01T00:00:00Z'], /in the future/],
    [['--to', CONTAINER], /holds live data.*--overwrite/],
    [['--yes'], /--yes confirms --remove-extras/],
  ])('stops before writing with exit 2 for %j', async (args, message) => {
    const result = await blobferry(['restore', ...local, ...args]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('refuses the backup role, which may not read versions, with exit 2 naming the restore role', async () => {
    const stack = backup.cloud.stack;
    const result = await blobferry(['restore', ...local, '--to', 'never-written', '--role-arn', stack.aws.roleArn]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/AccessDenied|may not/);
    expect(await backup.containerClient('never-written').exists()).toBe(false);
  });

  it('shows a person their token claims: a sub that is not their object id, to pin in the restore role', async () => {
    const result = await blobferry(['credentials', '--local', '--stack', backup.stackFile, '--user', '--show-claims']);
    expect(result.exitCode).toBe(0);
    const stack = backup.cloud.stack;
    expect(JSON.parse(result.stdout.split('\n# ')[0] ?? '{}')).toMatchObject({
      sub: stack.identity.operatorUser.subject,
      oid: stack.identity.operatorUser.objectId,
      aud: stack.identity.audience,
    });
    expect(result.stdout).toContain(`RestoreOperatorSubject=${stack.identity.operatorUser.subject}`);
    expect(result.stdout).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});

describe('blobferry restore --as-of on a bucket never versioned', () => {
  let cloud: LocalCloud;
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'restore-unversioned-'));
    cloud = await startLocalCloud({ stackFile: join(directory, 'stack.json'), bucket: { versioned: false }, log: () => undefined });
  }, 120_000);
  afterAll(async () => {
    await cloud?.stop();
    await rm(directory, { recursive: true, force: true });
  });

  it('stops with exit 2: there is no earlier point, only the latest backups', async () => {
    const result = await blobferry(['restore', '--local', '--stack', join(directory, 'stack.json'), '--as-of', '2026-01-01T00:00:00Z']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/never had versioning enabled.*Drop --as-of/);
  });
});
