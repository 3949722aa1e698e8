import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { blobferry, cliSummary as summaryOf, s3Reader, sourceContainer, WITHOUT_SWEEP } from './support.js';

// `blobferry backfill` on a stack without events (an estate that predates the subscription): the CLI lists
// and classifies, writes the blobs S3 lacks into the backup queue in batch messages, and the Functions host copies.
const MiB = 1024 * 1024;

let workDir: string;
beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'blobferry-backfill-'));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('blobferry backfill through the Function fleet', () => {
  let stack: BackupStack;
  let stackFile: string;
  beforeAll(async () => {
    stackFile = join(workDir, 'fleet-stack.json');
    stack = await startBackupStack({ stackFile, settings: WITHOUT_SWEEP, localCloud: { events: false }, log: () => undefined });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it(
    'backs up 5,000 existing blobs of mixed sizes, proven by verify --deep, and a second run enqueues nothing',
    { timeout: 600_000 },
    async () => {
      const container = sourceContainer(stack.cloud.stack);
      const sizes = Array.from({ length: 5000 }, (_, index) =>
        index % 500 === 0 ? 2 * MiB + index : index % 7 === 0 ? 0 : 64 + ((index * 7919) % 65_536),
      );
      sizes.splice(0, 3, 17 * MiB, 20 * MiB + 1, 24 * MiB - 1);
      const limit = pLimit(32);
      await Promise.all(
        sizes.map((size, index) =>
          limit(() =>
            container
              .getBlockBlobClient(`estate/${String(index).padStart(4, '0')}-${index % 11 === 0 ? 'ünï 🚀' : 'plain'}.bin`)
              .uploadData(randomBytes(size), { blockSize: 8 * MiB }),
          ),
        ),
      );
      // No events: nothing reached the queue or S3 by itself.
      expect((await stack.queue.getProperties()).approximateMessagesCount).toBe(0);
      const journal = join(workDir, 'fleet-journal.ndjson');

      const dryRun = summaryOf(await blobferry(['backfill', '--local', '--stack', stackFile, '--json', '--journal', journal, '--dry-run']));
      expect(dryRun).toMatchObject({ missing: 5000, enqueued: 0 });
      const first = await blobferry(['backfill', '--local', '--stack', stackFile, '--json', '--journal', journal, '--progress']);
      expect(summaryOf(first)).toMatchObject({ missing: 5000, enqueued: 5000, alreadyQueued: 0, remaining: 0 });
      expect(first.code).toBe(0);
      expect(first.stderr).toMatch(/objects/); // progress on stderr

      await stack.drained({ timeoutMs: 480_000 });
      const verified = await blobferry(['verify', '--local', '--stack', stackFile, '--deep', '--json']);
      expect(summaryOf(verified)).toMatchObject({ inSync: 5000, remaining: 0 });
      expect(verified.code).toBe(0);

      const second = await blobferry(['backfill', '--local', '--stack', stackFile, '--json', '--journal', journal]);
      expect(summaryOf(second)).toMatchObject({ inSync: 5000, enqueued: 0 });
    },
  );
});

describe('backfill while messages wait in the queue', () => {
  let stack: BackupStack;
  let stackFile: string;
  beforeAll(async () => {
    stackFile = join(workDir, 'waiting-stack.json');
    stack = await startBackupStack({
      stackFile,
      settings: WITHOUT_SWEEP,
      localCloud: { events: false },
      startHost: false,
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it(
    'enqueues each blob once across an interrupted run, and a blob overwritten while its message waits ends with the new version',
    { timeout: 180_000 },
    async () => {
      const container = sourceContainer(stack.cloud.stack);
      for (let index = 0; index < 20; index++)
        await container.getBlockBlobClient(`waiting/${index}.txt`).upload(`v1 of ${index}`, `v1 of ${index}`.length);
      const journal = join(workDir, 'waiting-journal.ndjson');
      const args = ['backfill', '--local', '--stack', stackFile, '--json', '--journal', journal];

      expect(summaryOf(await blobferry(args))).toMatchObject({ missing: 20, enqueued: 20 });
      // Run again while no host consumes: every message is still queued, so nothing is sent twice.
      expect(summaryOf(await blobferry(args))).toMatchObject({ missing: 20, enqueued: 0, alreadyQueued: 20 });
      // One batch message holds the 20 (contract BATCH_MAX_ENTRIES is 32).
      expect((await stack.queue.getProperties()).approximateMessagesCount).toBe(1);

      // Overwritten while its message waits (no event: this estate has no subscription yet).
      await container.getBlockBlobClient('waiting/7.txt').upload('v2 of 7, written later', 22);
      await stack.startHost();
      await stack.drained();
      const reader = s3Reader(stack.cloud.stack);
      expect((await reader.read('waiting/7.txt'))?.toString()).toBe('v2 of 7, written later');
      expect((await reader.read('waiting/3.txt'))?.toString()).toBe('v1 of 3');
      const verified = await blobferry(['verify', '--local', '--stack', stackFile, '--json']);
      expect(summaryOf(verified)).toMatchObject({ inSync: 20, remaining: 0 });
      reader.s3.destroy();
    },
  );

  it('says what to fix when the queue is not named, and refuses --delete-extra through the queue', async () => {
    const noQueue = await blobferry([
      'backfill',
      '--connection-string',
      stack.cloud.stack.azure.connectionString,
      '--container',
      'source',
      '--bucket',
      'b',
    ]);
    expect(noQueue.code).toBe(2);
    expect(noQueue.stderr).toMatch(/--queue-url https:\/\/<account>\.queue\.core\.windows\.net\/<queue>/);
    const extras = await blobferry(['verify', '--local', '--stack', stackFile, '--repair', '--via-queue', '--delete-extra']);
    expect(extras.code).toBe(2);
    expect(extras.stderr).toMatch(/extras are never deleted through the queue/);
  });
});
