import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import type { BlobClient } from '@azure/storage-blob';
import { type LocalCloud, startLocalCloud, useLocalManagedIdentity } from '@blobferry/local-cloud';
import { failureRecordName, failureRecordSchema, readRetryState } from '@blobferry/contract';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ContainerClient } from '@azure/storage-blob';
import { type BackupDeps, handleBlobEvent } from '../src/backup-blob.js';
import { createSharedState } from '../src/state/shared-state.js';
import { checkHealth } from '../src/health.js';
import {
  blobEvent,
  bodyOf,
  type CapturedLog,
  sameBytes,
  deliverEvent,
  depsForStack,
  invocationContext,
  nextSequencer,
  s3Reader,
  sourceContainer,
  waitFor,
} from './support.js';

const MIB = 1024 * 1024;
let cloud: LocalCloud;
let deps: BackupDeps;
let reader: ReturnType<typeof s3Reader>;
let restoreEnvironment: (() => void) | undefined;

beforeAll(async () => {
  // The role as infra/aws-iam makes it with AllowDeleteMarkers=true (the delete-marker tests need it), on an
  // operator's own bucket, never versioned until the delete-policy tests turn versioning on.
  cloud = await startLocalCloud({ role: { allowDeleteMarkers: true }, bucket: { versioned: false }, log: () => undefined });
  // The managed-identity endpoint the Functions platform announces to @azure/identity (IDENTITY_ENDPOINT,
  // IDENTITY_HEADER): the only way to point the real ManagedIdentityCredential at the local identity plane.
  restoreEnvironment = useLocalManagedIdentity(cloud.stack.identity, 'app-service');
  // A retry is put back into the queue; these tests take it from there after a one-second delay.
  deps = depsForStack(cloud.stack, { PART_SIZE: '5MiB', CONCURRENCY: '2', RETRY_DELAYS: '1s' });
  reader = s3Reader(cloud.stack);
});
afterAll(async () => {
  reader?.s3.destroy();
  deps?.clients.s3.destroy();
  restoreEnvironment?.();
  await cloud?.stop();
});

async function upload(name: string, content: Buffer): Promise<{ etag: string; contentLength: number }> {
  const response = await sourceContainer(cloud.stack)
    .getBlockBlobClient(name)
    .uploadData(content, { blockSize: 4 * MIB });
  return { etag: (response.etag ?? '').replace(/"/g, ''), contentLength: content.length };
}

const deliver = (event: unknown, withDeps: BackupDeps = deps) => deliverEvent(event, withDeps);

/** The message the handler put back into the backup queue for the event's next attempt, once it is visible. */
async function retryMessageOf(eventId: string): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitFor(
    async () => {
      const { receivedMessageItems } = await deps.clients.backupQueue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 1 });
      for (const item of receivedMessageItems) {
        const message = JSON.parse(item.messageText) as Record<string, unknown>;
        if (message.id !== eventId) continue;
        found = message;
        await deps.clients.backupQueue.deleteMessage(item.messageId, item.popReceipt);
      }
      return found !== undefined;
    },
    { timeoutMs: 10_000, what: `the retry of event ${eventId} in the backup queue` },
  );
  return found as Record<string, unknown>;
}

async function failureRecordOf(blobName: string) {
  const name = failureRecordName({ account: cloud.stack.azure.accountName, container: cloud.stack.azure.sourceContainer, blobName });
  const blob = deps.clients.stateContainer.getBlobClient(name);
  if (!(await blob.exists())) return undefined;
  return failureRecordSchema.parse(JSON.parse((await blob.downloadToBuffer()).toString('utf8')));
}

describe('backupBlob handler (real InvocationContext, local cloud)', () => {
  it('copies a new blob byte for byte and logs one structured line', async () => {
    const content = randomBytes(70_000);
    const blob = await upload('docs/first.bin', content);
    const event = blobEvent(cloud.stack, 'docs/first.bin', blob);
    const { result, logs } = await deliver(event);
    expect(result.outcome).toBe('copied');
    expect(sameBytes(await reader.read('docs/first.bin'), content)).toBe(true);
    expect(logs).toHaveLength(1);
    expect(logs[0]?.entry).toMatchObject({
      eventId: event.id,
      url: event.data.url,
      outcome: 'copied',
      bytes: content.length,
      key: reader.keyOf('docs/first.bin'),
    });
    expect(typeof logs[0]?.entry.durationMs).toBe('number');
  });

  it('acknowledges a duplicate delivery without copying again', async () => {
    const content = randomBytes(1000);
    const blob = await upload('dup.txt', content);
    const event = blobEvent(cloud.stack, 'dup.txt', blob);
    expect((await deliver(event)).result.outcome).toBe('copied');
    expect((await deliver(event)).result.outcome).toBe('skipped-up-to-date');
    expect(sameBytes(await reader.read('dup.txt'), content)).toBe(true);
  });

  it('keeps the newest bytes when an older event arrives after a newer one', async () => {
    const first = await upload('reordered.txt', Buffer.from('version one'));
    const olderEvent = blobEvent(cloud.stack, 'reordered.txt', first);
    const newest = Buffer.from('version two, the newest');
    const second = await upload('reordered.txt', newest);
    const newerEvent = blobEvent(cloud.stack, 'reordered.txt', second);
    expect((await deliver(newerEvent)).result.outcome).toBe('copied');
    const late = await deliver(olderEvent);
    expect(late.result.outcome).not.toBe('copied');
    expect(sameBytes(await reader.read('reordered.txt'), newest)).toBe(true);
  });

  it('copies the real blob when the event lies about contentLength, and says so', async () => {
    const content = randomBytes(5000);
    const blob = await upload('liar.bin', content);
    const { result, logs } = await deliver(blobEvent(cloud.stack, 'liar.bin', { ...blob, contentLength: 3 }));
    expect(result).toMatchObject({ outcome: 'copied', bytes: 5000 });
    expect(sameBytes(await reader.read('liar.bin'), content)).toBe(true);
    expect(logs[0]?.level).toBe('warning');
    expect(logs[0]?.entry.contentLengthMismatch).toEqual({ event: 3, blob: 5000 });
  });

  it.each([
    ['no data', (e: Record<string, unknown>) => ({ ...e, data: undefined }), /no data object/],
    [
      'a wrong event type',
      (e: Record<string, unknown>) => ({ ...e, eventType: 'Microsoft.Resources.ResourceWriteSuccess' }),
      /unsupported eventType/,
    ],
    [
      'a url of another account',
      (e: Record<string, unknown>) => ({
        ...e,
        topic: undefined,
        data: { ...(e.data as object), url: 'https://intruder.blob.core.windows.net/source/x.txt' },
      }),
      /intruder\/source is not in ALLOWED_SOURCES/,
    ],
    [
      'a subject naming another blob',
      (e: Record<string, unknown>) => ({ ...e, subject: '/blobServices/default/containers/source/blobs/other.txt' }),
      /subject and data.url name different blobs/,
    ],
    [
      'a negative contentLength',
      (e: Record<string, unknown>) => ({ ...e, data: { ...(e.data as object), contentLength: -5 } }),
      /not a plausible blob size/,
    ],
  ])('refuses an event with %s, logs why and acknowledges it', async (_name, mutate, reason) => {
    const { result, logs } = await deliver(mutate(blobEvent(cloud.stack, 'x.txt', { contentLength: 1 })));
    expect(result.outcome).toBe('refused');
    expect(result.reason).toMatch(reason);
    expect(logs[0]).toMatchObject({ level: 'warning', entry: { outcome: 'refused' } });
    expect(await reader.read('x.txt')).toBeUndefined();
  });

  it('acknowledges an event for a blob that no longer exists (permanent), recorded until a copy of it succeeds', async () => {
    const event = blobEvent(cloud.stack, 'never-uploaded.txt', { contentLength: 10 });
    const { result } = await deliver(event);
    expect(result.outcome).toBe('failed-permanent');
    expect(result.reason).toMatch(/SourceNotFound/);
    expect(await failureRecordOf('never-uploaded.txt')).toMatchObject({
      errorClass: 'SourceNotFoundError',
      eventId: event.id,
      key: reader.keyOf('never-uploaded.txt'),
      url: event.data.url,
      reason: expect.stringMatching(/SourceNotFound/) as unknown,
    });
    const content = randomBytes(10);
    expect((await deliver(blobEvent(cloud.stack, 'never-uploaded.txt', await upload('never-uploaded.txt', content)))).result.outcome).toBe(
      'copied',
    );
    expect(await failureRecordOf('never-uploaded.txt')).toBeUndefined();
  });

  it('puts a permanent failure back for later when its record cannot be written, so the decision is not lost', async () => {
    const missing = new ContainerClient(cloud.stack.azure.connectionString, 'no-such-state-container');
    const unrecorded: BackupDeps = { ...deps, state: createSharedState(missing) };
    const event = blobEvent(cloud.stack, 'unrecordable.txt', { contentLength: 1 });
    const { result, logs } = await deliver(event, unrecorded);
    expect(result).toMatchObject({
      outcome: 'will-retry',
      reason: expect.stringMatching(/^FailureRecordError: could not record/) as unknown,
    });
    expect(logs[0]?.entry).toMatchObject({ cause: 'state container: 404 ContainerNotFound', nextAttempt: 2 });
    expect(logs[0]?.entry.dependency).toBeUndefined();
    expect(readRetryState(await retryMessageOf(event.id))).toMatchObject({ ok: true, state: { attempt: 2 } });
  });

  it('puts the event back for a retry when the blob is overwritten while copying, and the retry copies the newest bytes', async () => {
    const original = randomBytes(11 * MIB);
    const blob = await upload('overwritten.bin', original);
    const newest = randomBytes(6 * MIB);
    let overwritten = false;
    let downloads = 0;
    // The copy's first GET fixes the version it copies (its ETag); the blob is overwritten before the
    // next ranged read, which is pinned to that ETag and must notice.
    const overwritingDeps: BackupDeps = {
      ...deps,
      clients: {
        ...deps.clients,
        blobClientFor: (ref) => {
          const client = deps.clients.blobClientFor(ref);
          const download = client.download.bind(client);
          client.download = (async (...args: Parameters<BlobClient['download']>) => {
            downloads += 1;
            if (downloads === 2) {
              overwritten = true;
              await upload('overwritten.bin', newest);
            }
            return download(...args);
          }) as BlobClient['download'];
          return client;
        },
      },
    };
    const event = blobEvent(cloud.stack, 'overwritten.bin', blob);
    const first = await deliver(event, overwritingDeps);
    expect(first.result).toMatchObject({ outcome: 'will-retry', reason: expect.stringMatching(/^SourceChangedError/) as unknown });
    expect(first.logs[0]?.entry).toMatchObject({ attempt: 1, nextAttempt: 2, retryInMs: 1000 });
    expect(overwritten).toBe(true);
    // The handler put the same event back into the queue (and the overwrite raises its own event later).
    const retry = await retryMessageOf(event.id);
    expect(readRetryState(retry)).toMatchObject({
      ok: true,
      state: { attempt: 2, lastError: expect.stringMatching(/SourceChangedError/) as unknown },
    });
    const second = await deliver(retry);
    expect(second.result.outcome).toBe('copied');
    expect(second.logs[0]?.entry).toMatchObject({ attempt: 2, eventId: event.id });
    expect(sameBytes(await reader.read('overwritten.bin'), newest)).toBe(true);
  });

  it('keeps copying correctly while AWS credentials expire and refresh mid-run', async () => {
    // Sessions inside the AWS SDK's 5-minute refresh window: every S3 request asks the provider again,
    // which starts a new STS session each time. The clients are the production ones, built from config.
    cloud.sts.issueSessionsOf(240);
    onTestFinished(() => cloud.sts.issueSessionsOf(undefined));
    const refreshing = depsForStack(cloud.stack, { PART_SIZE: '5MiB', CONCURRENCY: '2' });
    const stsBefore = cloud.sts.requestCount();
    const contents = [randomBytes(12 * MIB), randomBytes(100), randomBytes(7 * MIB)];
    const events = [];
    for (const [index, content] of contents.entries())
      events.push(blobEvent(cloud.stack, `refresh/${index}.bin`, await upload(`refresh/${index}.bin`, content)));
    for (const [index, event] of events.entries()) {
      if (index === 1) cloud.identity.rotateKeys(); // the issuer's signing key changes mid-run too
      expect((await deliver(event, refreshing)).result.outcome).toBe('copied');
    }
    for (const [index, content] of contents.entries()) expect(sameBytes(await reader.read(`refresh/${index}.bin`), content)).toBe(true);
    expect(cloud.sts.requestCount() - stsBefore).toBeGreaterThan(contents.length);
    refreshing.clients.s3.destroy();
  });
});

describe('delete policies', () => {
  it('retain: a BlobDeleted leaves the backup in place', async () => {
    const content = Buffer.from('kept');
    await upload('deleted-retain.txt', content);
    await deliver(blobEvent(cloud.stack, 'deleted-retain.txt', { contentLength: 4 }));
    await sourceContainer(cloud.stack).deleteBlob('deleted-retain.txt');
    const { result } = await deliver(blobEvent(cloud.stack, 'deleted-retain.txt', { eventType: 'Microsoft.Storage.BlobDeleted' }));
    expect(result.outcome).toBe('delete-retained');
    expect(sameBytes(await reader.read('deleted-retain.txt'), content)).toBe(true);
  });

  it('delete-marker: sends no delete to a bucket whose versioning is not Enabled, and says what to fix', async () => {
    // The operator's own bucket (CreateBucket=false), never versioned, then suspended: a delete there would
    // remove the backup for good. This test leaves it Enabled, which the next one needs.
    const bucket = cloud.stack.aws.bucket;
    const marking = depsForStack(cloud.stack, { DELETE_POLICY: 'delete-marker', RETRY_DELAYS: '1s' });
    const { config } = marking;
    onTestFinished(() => marking.clients.s3.destroy());
    const content = Buffer.from('the only copy');
    const key = reader.keyOf('unversioned.txt');
    await deliver(blobEvent(cloud.stack, 'unversioned.txt', await upload('unversioned.txt', content)), marking);
    await sourceContainer(cloud.stack).deleteBlob('unversioned.txt');
    const stillThere = async () => {
      const object = await reader.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return sameBytes(await bodyOf(object), content);
    };

    for (const state of ['never versioned', 'Suspended'] as const) {
      if (state === 'Suspended')
        await reader.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }));
      const logs: CapturedLog[] = [];
      const deleteEvent = blobEvent(cloud.stack, 'unversioned.txt', { eventType: 'Microsoft.Storage.BlobDeleted' });
      const attempt = await handleBlobEvent(deleteEvent, invocationContext(logs), marking);
      // Put back for a later retry, so the delete is not lost either; the retry finds the bucket as it is then.
      expect(attempt).toMatchObject({ outcome: 'will-retry', reason: expect.stringMatching(/^UnsafeDeleteError/) as unknown });
      expect(attempt.reason).toMatch(state === 'Suspended' ? /which is Suspended/ : /which is not versioned/);
      expect(logs[0]?.entry).toMatchObject({ outcome: 'will-retry' });
      expect(String(logs[0]?.entry.reason)).toMatch(/Enable versioning on the bucket, or set DELETE_POLICY=retain/);
      expect(readRetryState(await retryMessageOf(deleteEvent.id))).toMatchObject({ ok: true, state: { attempt: 2 } });
      expect(await stillThere()).toBe(true);
      expect((await checkHealth({ ok: true, config }, marking)).deleteMarkers).toMatchObject({ safe: false });
    }

    await reader.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    expect((await checkHealth({ ok: true, config }, marking)).deleteMarkers).toEqual({ safe: true });
    const { result } = await deliver(blobEvent(cloud.stack, 'unversioned.txt', { eventType: 'Microsoft.Storage.BlobDeleted' }), marking);
    expect(result.outcome).toBe('delete-marker-written');
  });

  it('delete-marker: hides the backup, but never because of a delete older than the backup or of a re-created blob', async () => {
    const marking = depsForStack(cloud.stack, { DELETE_POLICY: 'delete-marker' });
    onTestFinished(() => marking.clients.s3.destroy());
    const staleDelete = blobEvent(cloud.stack, 'deleted-marker.txt', {
      eventType: 'Microsoft.Storage.BlobDeleted',
      sequencer: nextSequencer(),
    });
    const content = Buffer.from('second life');
    const blob = await upload('deleted-marker.txt', content);
    await deliver(blobEvent(cloud.stack, 'deleted-marker.txt', blob), marking);
    await sourceContainer(cloud.stack).deleteBlob('deleted-marker.txt');

    expect((await deliver(staleDelete, marking)).result.outcome).toBe('delete-stale');
    expect(sameBytes(await reader.read('deleted-marker.txt'), content)).toBe(true);

    await upload('deleted-marker.txt', Buffer.from('re-created'));
    const whileRecreated = blobEvent(cloud.stack, 'deleted-marker.txt', { eventType: 'Microsoft.Storage.BlobDeleted' });
    expect((await deliver(whileRecreated, marking)).result.outcome).toBe('delete-superseded');
    expect(sameBytes(await reader.read('deleted-marker.txt'), content)).toBe(true);

    await sourceContainer(cloud.stack).deleteBlob('deleted-marker.txt');
    const realDelete = blobEvent(cloud.stack, 'deleted-marker.txt', { eventType: 'Microsoft.Storage.BlobDeleted' });
    expect((await deliver(realDelete, marking)).result.outcome).toBe('delete-marker-written');
    expect(await reader.read('deleted-marker.txt')).toBeUndefined();
    // Hidden, not gone: the bucket is versioned (Enabled by the test before), so the backup's version stays.
    const key = reader.keyOf('deleted-marker.txt');
    const history = await reader.s3.send(new ListObjectVersionsCommand({ Bucket: cloud.stack.aws.bucket, Prefix: key }));
    expect(history.DeleteMarkers?.filter((marker) => marker.Key === key && marker.IsLatest)).toHaveLength(1);
    const kept = history.Versions?.find((version) => version.Key === key && version.Size === content.length);
    const keptBytes = await reader.s3.send(new GetObjectCommand({ Bucket: cloud.stack.aws.bucket, Key: key, VersionId: kept?.VersionId }));
    expect(sameBytes(await bodyOf(keptBytes), content)).toBe(true);
    expect((await deliver(realDelete, marking)).result.outcome).toBe('delete-nothing-to-hide');
  });
});
