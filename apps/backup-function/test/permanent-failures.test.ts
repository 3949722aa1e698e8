import { failureRecordName, failureRecordSchema } from '@blobferry/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStack, startBackupStack } from '../dev/local-stack.js';
import { depsForStack, s3Reader, sourceContainer, WITHOUT_SWEEP } from './support.js';

// Permanent failures, decided at the first attempt (a fact about the blob that another attempt reads again),
// recorded in the state container, dropped: never retried, never poisoned. The Functions host runs as its own
// process with the committed host.json; a later successful copy of the blob clears its record.
let stack: BackupStack;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  // The host starts later: events wait in the queue, so a blob can be gone before its copy runs.
  stack = await startBackupStack({ log: (entry) => logs.push(entry), settings: WITHOUT_SWEEP, startHost: false });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const linesFor = (name: string) =>
  logs.filter(
    (entry) => entry.event === 'backupBlob' && String(entry.url).endsWith(`/${name.split('/').map(encodeURIComponent).join('/')}`),
  );

async function recordOf(blobName: string) {
  const { azure } = stack.cloud.stack;
  const { stateContainer } = depsForStack(stack.cloud.stack).clients;
  const blob = stateContainer.getBlobClient(failureRecordName({ account: azure.accountName, container: azure.sourceContainer, blobName }));
  if (!(await blob.exists())) return undefined;
  return failureRecordSchema.parse(JSON.parse((await blob.downloadToBuffer()).toString('utf8')));
}

async function permanentFailureCount(): Promise<number> {
  const response = await fetch(`${stack.host().baseUrl}/api/health`);
  return ((await response.json()) as { permanentFailures: { count: number } }).permanentFailures.count;
}

describe('permanent failures', () => {
  it('decides a blob deleted before its copy and a key over 1,024 bytes at the first attempt, records them, poisons neither', async () => {
    const container = sourceContainer(stack.cloud.stack);
    await container.getBlockBlobClient('gone-before-copy.txt').upload('short-lived', 11);
    await container.deleteBlob('gone-before-copy.txt');
    const root = `${stack.cloud.stack.aws.prefix}${stack.cloud.stack.azure.accountName}/${stack.cloud.stack.azure.sourceContainer}/`;
    const tooLong = 'z'.repeat(1024 - Buffer.byteLength(root) + 1);
    await container.getBlockBlobClient(tooLong).upload('too long', 8);
    await stack.startHost();
    await stack.drained();

    // One batch: the two events of the blob run side by side.
    const gone = linesFor('gone-before-copy.txt');
    expect(gone.map((entry) => [entry.eventType, entry.outcome, entry.attempt, entry.dequeueCount]).sort()).toEqual([
      ['created', 'failed-permanent', 1, 1],
      ['deleted', 'delete-retained', 1, 1],
    ]);
    expect(linesFor(tooLong)).toMatchObject([{ outcome: 'failed-permanent', attempt: 1, dequeueCount: 1, recorded: true }]);
    expect((await stack.poisonQueue.peekMessages()).peekedMessageItems).toEqual([]);

    const record = await recordOf('gone-before-copy.txt');
    expect(record).toMatchObject({
      errorClass: 'SourceNotFoundError',
      blobName: 'gone-before-copy.txt',
      key: `${root}gone-before-copy.txt`,
      eventId: gone.find((entry) => entry.eventType === 'created')?.eventId,
    });
    expect(record?.firstSeen).toBe(record?.lastSeen);
    expect(await recordOf(tooLong)).toMatchObject({
      errorClass: 'KeyTooLongError',
      key: `${root}${tooLong}`,
      reason: expect.stringMatching(/over S3's limit of 1024/),
    });
    expect(await permanentFailureCount()).toBe(2);
  });

  it("clears a blob's record once a later copy of it succeeds", async () => {
    await sourceContainer(stack.cloud.stack).getBlockBlobClient('gone-before-copy.txt').upload('back again', 10);
    await stack.drained();
    expect(linesFor('gone-before-copy.txt').at(-1)).toMatchObject({ outcome: 'copied' });
    expect((await s3Reader(stack.cloud.stack).read('gone-before-copy.txt'))?.toString()).toBe('back again');
    expect(await recordOf('gone-before-copy.txt')).toBeUndefined();
    expect(await permanentFailureCount()).toBe(1);
  });
});
