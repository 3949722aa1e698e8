import { randomBytes } from 'node:crypto';
import pLimit from 'p-limit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { s3Reader, sourceContainer, waitFor } from './support.js';

let stack: BackupStack;

beforeAll(async () => {
  stack = await startBackupStack({ log: () => undefined, localCloud: { events: { concurrency: 16 } } });
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
  await Promise.all(blobs.map((blob) => limit(() => container.getBlockBlobClient(blob.name).uploadData(blob.content))));

  const reader = s3Reader(stack.cloud.stack);
  const pending = new Map(blobs.map((blob) => [blob.name, blob.content]));
  await waitFor(
    async () => {
      const checks = await Promise.all([...pending].map(([name, content]) => limit(async () => ({ name, same: (await reader.read(name))?.equals(content) ?? false }))));
      for (const check of checks) if (check.same) pending.delete(check.name);
      return pending.size === 0;
    },
    { timeoutMs: 60_000, what: `${pending.size} backups` },
  );
  expect(pending.size).toBe(0);
  expect(stack.cloud.events.deadLettered()).toEqual([]);
  reader.s3.destroy();
});
