import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { sameBytes, s3Reader, sourceContainer, waitFor, WITHOUT_SWEEP } from './support.js';

let stack: BackupStack;

beforeAll(async () => {
  stack = await startBackupStack({ log: () => undefined, settings: WITHOUT_SWEEP, localCloud: { events: { concurrency: 16 } } });
});
afterAll(async () => {
  await stack?.stop();
});

it('backs up a burst of 200 uploads, every one byte-identical in S3 (60 s deadline)', { timeout: 120_000 }, async () => {
  const container = sourceContainer(stack.cloud.stack);
  const blobs = Array.from({ length: 200 }, (_, index) => ({
    name: `burst/${String(index).padStart(3, '0')}-${index % 7 === 0 ? 'ünï 🚀' : 'plain'}.bin`,
    content: randomBytes(index % 50 === 0 ? 0 : 256 + ((index * 4099) % 65_536)),
  }));
  const limit = pLimit(32);
  const etags = new Map<string, string>();
  await Promise.all(
    blobs.map((blob) =>
      limit(async () => {
        const uploaded = await container.getBlockBlobClient(blob.name).uploadData(blob.content);
        etags.set(blob.name, (uploaded.etag ?? '').replace(/"/g, ''));
      }),
    ),
  );

  const reader = s3Reader(stack.cloud.stack);
  const pending = new Map(blobs.map((blob) => [blob.name, blob.content]));
  const differing: string[] = [];
  // A cheap HEAD until the backup of this very version (its source ETag) is there, then one GET
  // to compare every byte.
  await waitFor(
    async () => {
      await Promise.all(
        [...pending].map(([name, content]) =>
          limit(async () => {
            const metadata = await reader.metadata(name);
            if (metadata?.['source-etag']?.replace(/"/g, '') !== etags.get(name)) return;
            if (!sameBytes(await reader.read(name), content)) differing.push(name);
            pending.delete(name);
          }),
        ),
      );
      return pending.size === 0;
    },
    { timeoutMs: 60_000, intervalMs: 1000, what: 'the backups of 200 blobs' },
  );
  expect(differing).toEqual([]);
  expect(pending.size).toBe(0);
  expect(stack.cloud.events.deadLettered()).toEqual([]);
  reader.s3.destroy();
});
