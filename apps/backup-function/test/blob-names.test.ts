import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { blobferry, cliSummary, s3Reader, sourceContainer, WITHOUT_SWEEP } from './support.js';

// Every valid blob name reaches S3 as it is, on the default stack (moto), through the Function: S3 keys are
// any UTF-8 up to 1,024 bytes, and blob names up to 1,024 characters in at most 254 path segments.

let stack: BackupStack;
let workDir: string;
let stackFile: string;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'blobferry-names-'));
  stackFile = join(workDir, 'stack.json');
  stack = await startBackupStack({ stackFile, settings: WITHOUT_SWEEP, log: (entry) => logs.push(entry) });
});
afterAll(async () => {
  await stack?.stop();
  await rm(workDir, { recursive: true, force: true });
});

/** The configured prefix and the default layout's account/container: what every key starts with. */
const keyRoot = () => `${stack.cloud.stack.aws.prefix}${stack.cloud.stack.azure.accountName}/${stack.cloud.stack.azure.sourceContainer}/`;

describe('blob names on the default stack', () => {
  it('backs up every valid name byte-identical under its own key', { timeout: 120_000 }, async () => {
    const fill = 1024 - Buffer.byteLength(keyRoot());
    const names = [
      'dir//double//slash.txt',
      '/leading-slash.txt',
      'trailing-slash/',
      // Dots in segments. A segment that is exactly "." or ".." cannot be addressed at all: URL clients (the
      // Azure SDK included, and %2E too under WHATWG URL rules) resolve it away before a request is made.
      'dots/.hidden/..twice/...three/.txt',
      'percent %41 %zz 100%.txt',
      'plus+and?query#fragment.txt',
      'spaces and\ttabs.txt',
      'caf\u00e9.txt', // NFC
      'cafe\u0301.txt', // NFD of the same word: a different blob
      'emoji 🚀🦀 ✓.txt',
      // Exactly 1,024 UTF-8 bytes of key with the prefix: 3-byte characters, then ASCII to the byte.
      `${'€'.repeat(Math.floor((fill - 4) / 3))}${'x'.repeat((fill - 4) % 3)}.bin`,
      `${Array.from({ length: 253 }, () => 'd').join('/')}/leaf`, // 254 path segments
    ];
    expect(Buffer.byteLength(keyRoot() + (names.at(-2) ?? ''))).toBe(1024);
    const container = sourceContainer(stack.cloud.stack);
    const contents = new Map(names.map((name, index) => [name, Buffer.from(`content ${index} of ${JSON.stringify(name)}`)]));
    for (const [name, content] of contents) await container.getBlockBlobClient(name).upload(content, content.length);
    await stack.drained();

    const failures = logs.filter((entry) => entry.event === 'backupBlob' && entry.outcome !== 'copied');
    expect(failures).toEqual([]);
    const reader = s3Reader(stack.cloud.stack);
    const listed = new Set<string>();
    for await (const blob of container.listBlobsFlat()) listed.add(blob.name);
    for (const [name, content] of contents) {
      expect(listed.has(name), `Azure kept ${JSON.stringify(name)} as it is`).toBe(true);
      expect((await reader.read(name))?.equals(content), `S3 holds ${JSON.stringify(name)} byte-identical`).toBe(true);
    }

    const verified = await blobferry(['verify', '--local', '--stack', stackFile, '--json']);
    expect(cliSummary(verified)).toMatchObject({ inSync: names.length, remaining: 0 });
    expect(verified.code).toBe(0);
    reader.s3.destroy();
  });

  it('refuses a name whose key would pass 1,024 bytes for good, with a reason that says what to change', async () => {
    const name = 'y'.repeat(1024 - Buffer.byteLength(keyRoot()) + 1);
    await sourceContainer(stack.cloud.stack).getBlockBlobClient(name).upload('too long', 8);
    await stack.drained();
    const attempts = logs.filter((entry) => entry.event === 'backupBlob' && String(entry.url).endsWith(name));
    expect(attempts).toMatchObject([
      {
        outcome: 'failed-permanent',
        dequeueCount: 1,
        reason: expect.stringMatching(/1025 UTF-8 bytes.*shorten the prefix or use a shorter layout/),
      },
    ]);
    expect((await stack.poisonQueue.peekMessages()).peekedMessageItems).toEqual([]);
  });
});
