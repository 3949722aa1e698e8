import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobferry, seedManyBackedUp, startLocalBackup, type LocalBackup } from './helpers/local-backup.js';

const OBJECTS = 10_000;
let backup: LocalBackup;

// Spread over folders (several shards), across listing pages, with names whose UTF-16 and UTF-8 orders
// disagree ("\u{1F600}" vs "\uFF61") in every folder.
const names = Array.from({ length: OBJECTS }, (_, index) => {
  const mark = ['', '\u{1F600}', '\uFF61'][index % 3];
  return index % 10 === 0 ? `top-${mark}${index}` : `folder-${index % 7}/${mark}object-${index}`;
});

beforeAll(async () => {
  backup = await startLocalBackup();
  await seedManyBackedUp(backup, 'scale', names);
  // Seeding 10,000 objects through the emulators takes about 2 minutes alone, longer on a busy machine.
}, 480_000);

afterAll(async () => {
  await backup?.stop();
});

describe(`blobferry verify with ${OBJECTS.toLocaleString('en-US')} objects per side`, () => {
  it('proves them in sync from the listings alone, then pinpoints a few differences among them', { timeout: 180_000 }, async () => {
    const verify = (...flags: string[]) =>
      blobferry(['verify', '--local', '--stack', backup.stackFile, '--container', 'scale', '--json', ...flags]);
    const clean = await verify();
    expect(clean.stderr).toBe('');
    expect(JSON.parse(clean.stdout).summary).toMatchObject({ inSync: OBJECTS, missing: 0, extra: 0, unverifiable: 0 });
    expect(clean.code).toBe(0);

    const removed = [names[1], names[5000], names[OBJECTS - 1]] as string[];
    for (const name of removed) await backup.s3.send(new DeleteObjectCommand({ Bucket: backup.bucket, Key: backup.keyOf('scale', name) }));
    const added = ['folder-3/\u{1F600}zzz-extra', 'top-\uFF61extra'];
    for (const name of added) {
      await backup.s3.send(new PutObjectCommand({ Bucket: backup.bucket, Key: backup.keyOf('scale', name), Body: 'x' }));
    }
    const drift = await verify();
    expect(drift.code).toBe(1);
    const report = JSON.parse(drift.stdout) as { summary: Record<string, number>; differences: { key: string; kind: string }[] };
    expect(report.summary).toMatchObject({ inSync: OBJECTS - 3, missing: 3, extra: 2 });
    expect(
      report.differences
        .filter((difference) => difference.kind === 'missing')
        .map((difference) => difference.key)
        .sort(),
    ).toEqual(removed.map((name) => backup.keyOf('scale', name)).sort());
    expect(
      report.differences
        .filter((difference) => difference.kind === 'extra')
        .map((difference) => difference.key)
        .sort(),
    ).toEqual(added.map((name) => backup.keyOf('scale', name)).sort());
  });
});
