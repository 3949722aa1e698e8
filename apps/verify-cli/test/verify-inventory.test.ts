// `blobferry verify --inventory` against the local cloud: no inventory configured, it lists both sides; with the
// reports the local cloud writes, it reports what listing reports, reading them as the backup role.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { writeInventoryReports } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobferry, seedBackedUp, startLocalBackup, type LocalBackup } from './helpers/local-backup.js';

let backup: LocalBackup;

beforeAll(async () => {
  backup = await startLocalBackup();
}, 120_000);

afterAll(async () => {
  await backup?.stop();
});

const verify = (container: string, ...flags: string[]) =>
  blobferry(['verify', '--local', '--stack', backup.stackFile, '--container', container, '--json', ...flags]);

const differencesOf = (stdout: string) =>
  (JSON.parse(stdout) as { differences: { kind: string; key: string }[] }).differences
    .map((difference) => `${difference.kind} ${difference.key}`)
    .sort();

describe('blobferry verify --inventory', () => {
  const container = 'inventoried';

  beforeAll(async () => {
    await seedBackedUp(backup, container, { 'a.txt': 'a', 'b/c.txt': 'c' });
    await backup.containerClient(container).getBlockBlobClient('missing.txt').uploadData(Buffer.from('not backed up'));
    await backup.s3.send(new PutObjectCommand({ Bucket: backup.bucket, Key: backup.keyOf(container, 'extra.txt'), Body: 'extra' }));
  });

  it('lists both sides, saying so, while no inventory is configured', async () => {
    const listed = await verify(container);
    const result = await verify(container, '--inventory');
    expect(result.stderr).toContain('no inventory configured');
    expect(result.code).toBe(1);
    expect(differencesOf(result.stdout)).toEqual(differencesOf(listed.stdout));
  });

  it('reads the reports as the backup role and finds what listing finds', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await writeInventoryReports({ stack: backup.cloud.stack });
    const listed = await verify(container);
    const result = await verify(container, '--inventory', '--progress');
    expect(result.stderr).toContain('inventory: joined 1 of 1 passes');
    // The missing blob was written minutes ago, within the copy lag of the S3 report: read live, not decided.
    expect(result.stderr).toMatch(
      /inventory blobferry-inventory\/.*blobferry-manifest\.json .*: 2 in sync by the reports; decided by the reports: 1 extra; live checks: 0 HEAD, 1 read live/,
    );
    expect(result.code).toBe(1);
    expect(differencesOf(result.stdout)).toEqual(['extra', 'missing'].map((kind) => `${kind} ${backup.keyOf(container, `${kind}.txt`)}`));
    expect(differencesOf(result.stdout)).toEqual(differencesOf(listed.stdout));
  });

  it('refuses a report older than --inventory-max-age with exit 2, naming the manifest', async () => {
    // 0.0001 h is 0.36 s: the reports the test above wrote must be older than that, however fast it ran.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const result = await verify(container, '--inventory', '--inventory-max-age', '0.0001');
    expect(result.code).toBe(2);
    // Both reports are too old; whichever is read first is named.
    expect(result.stderr).toMatch(/manifest\.json: is \d+ s old \(started .*\), more than the 0 s allowed/);
  });
});

describe('blobferry verify --inventory with checks of every pair', () => {
  it('refuses --deep and --properties, which the reports cannot serve (exit 2)', async () => {
    for (const flag of ['--deep', '--properties']) {
      const result = await verify('inventoried', '--inventory', flag);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('run them without --inventory');
    }
  });
});
