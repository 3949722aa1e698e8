import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { type LocalCloud, startLocalCloud, useLocalManagedIdentity } from '@blobferry/local-cloud';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupDeps } from '../src/backup-blob.js';
import { deliverEvent, depsForStack, nextSequencer, s3Reader, sourceContainer } from './support.js';

// Renames and directory deletes of hierarchical-namespace accounts (Data Lake Storage), one event each, with
// the fields of the Event Grid blob storage schema's samples (data.sourceUrl / destinationUrl, recursive:
// 'true', the subject naming the new name). Azurite has no hierarchical namespace: these tests rename by copy
// and delete, then deliver the event Azure would raise, against blobs in Azurite (README "Local cloud").
let cloud: LocalCloud;
let restoreEnvironment: (() => void) | undefined;
let reader: ReturnType<typeof s3Reader>;
let policies: Record<'retain' | 'delete-marker', BackupDeps>;

beforeAll(async () => {
  // The role as infra/aws-iam makes it with AllowDeleteMarkers=true, on a versioned bucket.
  cloud = await startLocalCloud({ role: { allowDeleteMarkers: true }, log: () => undefined });
  restoreEnvironment = useLocalManagedIdentity(cloud.stack.identity, 'app-service');
  policies = {
    retain: depsForStack(cloud.stack, { DELETE_POLICY: 'retain' }),
    'delete-marker': depsForStack(cloud.stack, { DELETE_POLICY: 'delete-marker' }),
  };
  reader = s3Reader(cloud.stack);
}, 120_000);
afterAll(async () => {
  reader?.s3.destroy();
  for (const deps of Object.values(policies ?? {})) deps.clients.s3.destroy();
  restoreEnvironment?.();
  await cloud?.stop();
});

const urlOf = (name: string) =>
  `${cloud.stack.azure.blobEndpoint}/${cloud.stack.azure.sourceContainer}/${name.split('/').map(encodeURIComponent).join('/')}`;

/** A Data Lake Storage Gen2 event as Event Grid delivers it (its Azurite URLs stand for the account's dfs URLs). */
function hierarchicalEvent(eventType: string, subjectName: string, data: Record<string, unknown>) {
  return {
    topic: `/subscriptions/00000000-0000-4000-8000-00000000b10b/resourceGroups/blobferry-local/providers/Microsoft.Storage/storageAccounts/${cloud.stack.azure.accountName}`,
    subject: `/blobServices/default/containers/${cloud.stack.azure.sourceContainer}/blobs/${subjectName}`,
    eventType,
    eventTime: new Date().toISOString(),
    id: randomUUID(),
    data: {
      clientRequestId: randomUUID(),
      requestId: randomUUID(),
      sequencer: nextSequencer(),
      storageDiagnostics: { batchId: randomUUID() },
      ...data,
    },
    dataVersion: '1',
    metadataVersion: '1',
  };
}

const renamed = (from: string, to: string, eventType = 'Microsoft.Storage.BlobRenamed') =>
  hierarchicalEvent(eventType, to, {
    api: eventType.endsWith('DirectoryRenamed') ? 'RenameDirectory' : 'RenameFile',
    sourceUrl: urlOf(from),
    destinationUrl: urlOf(to),
  });

async function upload(name: string, content: string): Promise<void> {
  await sourceContainer(cloud.stack).getBlockBlobClient(name).upload(content, content.length);
}

/** Backs the blob up as its BlobCreated would. */
async function backedUp(name: string, content: string, deps: BackupDeps): Promise<void> {
  await upload(name, content);
  const { result } = await deliverEvent(
    hierarchicalEvent('Microsoft.Storage.BlobCreated', name, { api: 'CreateFile', url: urlOf(name), contentLength: content.length }),
    deps,
  );
  expect(result.outcome).toBe('copied');
}

/** What Azure does in one operation: the blob under its new name, none under the old. */
async function renameInAzurite(from: string, to: string): Promise<void> {
  const container = sourceContainer(cloud.stack);
  const content = await container.getBlobClient(from).downloadToBuffer();
  await container.getBlockBlobClient(to).upload(content, content.length);
  await container.deleteBlob(from);
}

async function hiddenBehindMarker(name: string): Promise<boolean> {
  const key = reader.keyOf(name);
  const history = await reader.s3.send(new ListObjectVersionsCommand({ Bucket: cloud.stack.aws.bucket, Prefix: key }));
  const markedLatest = history.DeleteMarkers?.some((marker) => marker.Key === key && marker.IsLatest) ?? false;
  const versionKept = history.Versions?.some((version) => version.Key === key) ?? false;
  return markedLatest && versionKept;
}

describe.each(['retain', 'delete-marker'] as const)('DELETE_POLICY=%s', (policy) => {
  const deps = () => policies[policy];
  const dir = (name: string) => `${policy}/${name}`;

  it('BlobRenamed: copies the new name; the old key follows the delete policy', async () => {
    await backedUp(dir('report.txt'), 'quarterly numbers', deps());
    await renameInAzurite(dir('report.txt'), dir('report-final.txt'));
    const { result, logs } = await deliverEvent(renamed(dir('report.txt'), dir('report-final.txt')), deps());
    expect(result).toMatchObject({ outcome: 'renamed', key: reader.keyOf(dir('report-final.txt')) });
    expect(logs[0]?.entry).toMatchObject({
      renamedFrom: urlOf(dir('report.txt')),
      copy: 'copied',
      delete: policy === 'retain' ? 'delete-retained' : 'delete-marker-written',
    });
    expect((await reader.read(dir('report-final.txt')))?.toString()).toBe('quarterly numbers');
    if (policy === 'retain') expect((await reader.read(dir('report.txt')))?.toString()).toBe('quarterly numbers');
    else expect(await hiddenBehindMarker(dir('report.txt'))).toBe(true);
  });

  it('DirectoryRenamed: copies every blob of the new directory, as a listing finds it; the old keys follow the policy', async () => {
    const files = { 'a.txt': 'first', 'nested/b.txt': 'second', 'nested/deeper/c.txt': 'third' };
    for (const [name, content] of Object.entries(files)) await backedUp(dir(`photos/${name}`), content, deps());
    await backedUp(dir('photos-other/keep.txt'), 'a sibling with the same prefix', deps());
    for (const name of Object.keys(files)) await renameInAzurite(dir(`photos/${name}`), dir(`albums/${name}`));

    const { result, logs } = await deliverEvent(renamed(dir('photos'), dir('albums'), 'Microsoft.Storage.DirectoryRenamed'), deps());
    expect(result.outcome).toBe('directory-renamed');
    expect(logs[0]?.entry).toMatchObject({
      copies: { copied: 3 },
      deletes: policy === 'retain' ? { 'delete-retained': 1 } : { 'delete-marker-written': 3 },
    });
    for (const [name, content] of Object.entries(files)) {
      expect((await reader.read(dir(`albums/${name}`)))?.toString()).toBe(content);
      if (policy === 'retain') expect((await reader.read(dir(`photos/${name}`)))?.toString()).toBe(content);
      else expect(await hiddenBehindMarker(dir(`photos/${name}`))).toBe(true);
    }
    expect((await reader.read(dir('photos-other/keep.txt')))?.toString()).toBe('a sibling with the same prefix');
  });

  it('DirectoryDeleted (recursive): every key under the directory follows the policy, one re-created meanwhile stays', async () => {
    const files = { 'x.log': 'x', 'day/1.log': 'one', 'day/2.log': 'two' };
    for (const [name, content] of Object.entries(files)) await backedUp(dir(`logs/${name}`), content, deps());
    await backedUp(dir('logs-archive/old.log'), 'a sibling with the same prefix', deps());
    for (const name of Object.keys(files)) await sourceContainer(cloud.stack).deleteBlob(dir(`logs/${name}`));
    // Written again after the delete (its own BlobCreated is on the way): its backup stays.
    await upload(dir('logs/x.log'), 'x again');

    const event = hierarchicalEvent('Microsoft.Storage.DirectoryDeleted', dir('logs'), {
      api: 'DeleteDirectory',
      url: urlOf(dir('logs')),
      recursive: 'true',
    });
    const { result, logs } = await deliverEvent(event, deps());
    if (policy === 'retain') {
      expect(result.outcome).toBe('delete-retained');
      for (const [name, content] of Object.entries(files)) expect((await reader.read(dir(`logs/${name}`)))?.toString()).toBe(content);
    } else {
      expect(result.outcome).toBe('directory-deleted');
      expect(logs[0]?.entry).toMatchObject({ deletes: { 'delete-marker-written': 2, 'delete-superseded': 1 } });
      expect(await hiddenBehindMarker(dir('logs/day/1.log'))).toBe(true);
      expect(await hiddenBehindMarker(dir('logs/day/2.log'))).toBe(true);
      expect((await reader.read(dir('logs/x.log')))?.toString()).toBe('x');
    }
    expect((await reader.read(dir('logs-archive/old.log')))?.toString()).toBe('a sibling with the same prefix');
  });
});

describe('BlobTierChanged', () => {
  it('copies the blob again through libs/transfer, which sends no bytes for a property change', async () => {
    const deps = policies.retain;
    await backedUp('tiers/cool.txt', 'rarely read', deps);
    await sourceContainer(cloud.stack).getBlockBlobClient('tiers/cool.txt').setAccessTier('Cool');
    const { result } = await deliverEvent(
      hierarchicalEvent('Microsoft.Storage.BlobTierChanged', 'tiers/cool.txt', {
        api: 'SetBlobTier',
        contentType: 'text/plain',
        contentLength: 11,
        blobType: 'BlockBlob',
        url: urlOf('tiers/cool.txt'),
      }),
      deps,
    );
    // The bytes are the ones backed up already: the judge takes the property path (which records the tier and
    // moves the storage class once libs/transfer does), never a copy of the bytes.
    expect(result.outcome).not.toBe('copied');
    expect(result).toMatchObject({ key: reader.keyOf('tiers/cool.txt'), bytes: 0 });
    expect((await reader.read('tiers/cool.txt'))?.toString()).toBe('rarely read');
  });
});
