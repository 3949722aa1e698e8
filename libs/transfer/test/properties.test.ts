// Every blob type and property through the real path: Azurite -> copyBlobToS3 -> moto, behind the fault proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GetObjectTaggingCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BlobClient, type ContainerClient } from '@azure/storage-blob';
import type { LocalCloud } from '@blobferry/local-cloud';
import { isRetryable } from '../src/classify.js';
import { BlobArchivedError, SourceChangedError } from '../src/errors.js';
import {
  backupKeyFor,
  copyBlobToS3,
  deleteBackup,
  parseBlobUrl,
  readSidecar,
  recordedSourceOf,
  sidecarKeyFor,
  type S3EndpointFeatures,
} from '../src/index.js';
import { checksumOf } from '../src/checksum.js';
import { copyInPartsOntoItself } from '../src/property-update.js';
import { objectStateOf } from '../src/target.js';
import { MiB, bytes, faultsOf, freshContainer, objectExists, readObject, recordCommands, s3ClientFor } from './support/clients.js';
import { startCloud } from './support/cloud.js';

const partSize = 5 * MiB;
const prefix = 'backup/';

describe('blob types and properties, against Azurite and moto', () => {
  let cloud: LocalCloud;
  let container: ContainerClient;
  let s3: S3Client;
  let bucket: string;
  let features: S3EndpointFeatures;
  const keyFor = (blobName: string) => backupKeyFor({ ...parseBlobUrl(container.getBlobClient(blobName).url), blobName }, { prefix });
  const head = (key: string) => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const tagsOf = async (key: string) =>
    Object.fromEntries(
      ((await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }))).TagSet ?? []).map((tag) => [tag.Key, tag.Value]),
    );
  const copy = (blobName: string, extra: Partial<Parameters<typeof copyBlobToS3>[0]> = {}) =>
    copyBlobToS3({
      source: { blob: container.getBlobClient(blobName) },
      target: { s3, bucket, key: keyFor(blobName), prefix, features },
      partSize,
      ...extra,
    });

  beforeAll(async () => {
    cloud = await startCloud('moto');
    container = await freshContainer(cloud.stack);
    s3 = s3ClientFor(cloud.stack);
    bucket = cloud.stack.aws.bucket;
    features = cloud.stack.aws.s3Features;
  }, 240_000);
  afterAll(async () => cloud?.stop());

  it('copies an append blob appended to every 200 ms, up to the length committed at the start, without a failure', async () => {
    const append = container.getAppendBlobClient('busy.log');
    await append.create();
    const start = bytes(12 * MiB);
    for (let offset = 0; offset < start.length; offset += 4 * MiB)
      await append.appendBlock(start.subarray(offset, offset + 4 * MiB), 4 * MiB);
    let appending = true;
    const appended: Buffer[] = [];
    const appender = (async () => {
      while (appending) {
        const chunk = bytes(1000);
        await append.appendBlock(chunk, chunk.length);
        appended.push(chunk);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      // Slow reads, so appends land while the parts are read.
      const faults = faultsOf(cloud);
      faults.failNext({ service: 'azure', method: 'GET', pathIncludes: append.name, status: 200, bytesPerSecond: 8 * MiB, times: 10 });
      const result = await copy(append.name, { concurrency: 2 });
      expect(result).toMatchObject({ outcome: 'copied', bytes: start.length, parts: 3 });
      expect(appended.length).toBeGreaterThan(0);
      const key = keyFor(append.name);
      expect((await readObject(s3, bucket, key)).equals(start)).toBe(true);
      const recorded = recordedSourceOf((await head(key)).Metadata);
      expect(recorded.blobType).toBe('AppendBlob');
      expect(recorded.creationTime).toEqual((await append.getProperties()).createdOn);
    } finally {
      appending = false;
      await appender;
    }
  });

  it('fails with SourceChangedError when an append blob is replaced (created again) mid-copy', async () => {
    const append = container.getAppendBlobClient('replaced.log');
    await append.create();
    await append.appendBlock(bytes(4 * MiB), 4 * MiB);
    await append.appendBlock(bytes(4 * MiB), 4 * MiB);
    const before = (await append.getProperties()).createdOn;
    // Azure's creation time has one-second resolution: a blob created again a second later has a new one.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const blob = container.getBlobClient(append.name);
    let replaced = false;
    const original = blob.download.bind(blob);
    blob.download = async (...args: Parameters<typeof blob.download>) => {
      if ((args[0] ?? 0) > 0 && !replaced) {
        replaced = true;
        await append.delete();
        await append.create();
        // Longer than the 8 MiB being copied: only the creation time tells the new blob from the old.
        for (let block = 0; block < 3; block++) await append.appendBlock(bytes(4 * MiB), 4 * MiB);
      }
      return original(...args);
    };
    const failure = await copyBlobToS3({
      source: { blob },
      target: { s3, bucket, key: keyFor(append.name), prefix, features },
      partSize,
      concurrency: 1,
    }).catch((error: unknown) => error);
    expect(replaced).toBe(true);
    expect((await append.getProperties()).createdOn).not.toEqual(before);
    expect(failure).toBeInstanceOf(SourceChangedError);
    expect(isRetryable(failure)).toBe(true);
  });

  it('reads only the written pages of a page blob: 64 MiB with 1 MiB written reads about 1 MiB from Azure', async () => {
    const page = container.getPageBlobClient('disk.vhd');
    await page.create(64 * MiB);
    const written = bytes(MiB);
    await page.uploadPages(written.subarray(0, MiB / 2), 10 * MiB, MiB / 2);
    await page.uploadPages(written.subarray(MiB / 2), 40 * MiB + 4096, MiB / 2);
    const expected = Buffer.alloc(64 * MiB);
    written.copy(expected, 10 * MiB, 0, MiB / 2);
    written.copy(expected, 40 * MiB + 4096, MiB / 2);
    const faults = faultsOf(cloud);
    const before = faults.traffic('azure').responseBytes;
    // The Function passes the event's contentLength: a blob announced larger than a part is opened with getProperties.
    const result = await copy(page.name, { source: { blob: container.getBlobClient(page.name), lengthHint: 64 * MiB } });
    const azureBytes = faults.traffic('azure').responseBytes - before;
    expect(result).toMatchObject({ outcome: 'copied', bytes: 64 * MiB });
    expect(azureBytes).toBeGreaterThan(MiB);
    expect(azureBytes).toBeLessThan(1.25 * MiB);
    const key = keyFor(page.name);
    expect((await readObject(s3, bucket, key)).equals(expected)).toBe(true);
    expect(recordedSourceOf((await head(key)).Metadata).blobType).toBe('PageBlob');
  });

  it('writes index tags as object tags, the tier as a storage class, and the blob type and creation time', async () => {
    const blob = container.getBlockBlobClient('tagged.txt');
    const tags = { project: 'blue sky', 'path/x': 'a+b=c:d_e.f-g' };
    await blob.upload('tagged', 6, { tags, tier: 'Cool', metadata: { Owner: 'alice' } });
    const result = await copy(blob.name, { storageClassByTier: { Cool: 'STANDARD_IA' } });
    expect(result).toMatchObject({ outcome: 'copied' });
    const key = keyFor(blob.name);
    const object = await head(key);
    expect(object.StorageClass).toBe('STANDARD_IA');
    expect(await tagsOf(key)).toEqual(tags);
    const recorded = recordedSourceOf(object.Metadata);
    // Get Blob's headers reach Node lower-cased: the copy lists the blob (List Blobs keeps the case) for the spelling.
    expect(recorded).toMatchObject({ blobType: 'BlockBlob', accessTier: 'Cool', metadata: { Owner: 'alice' }, inSidecar: [] });
    expect(recorded.creationTime).toEqual((await blob.getProperties()).createdOn);
    // A caller that listed the blob passes the spelling it saw: the same, so nothing changes.
    const spelled = await copy(blob.name, {
      source: { blob: container.getBlobClient(blob.name), metadataNames: ['Owner'] },
      storageClassByTier: { Cool: 'STANDARD_IA' },
    });
    expect(spelled).toMatchObject({ outcome: 'skipped-up-to-date' });
    expect(recordedSourceOf((await head(key)).Metadata).metadata).toEqual({ Owner: 'alice' });
  });

  it('takes the tier from Get Blob where the service reports it (version 2026-10-06 on): one Azure request', async () => {
    const written = container.getBlockBlobClient('tier-in-get.txt');
    await written.upload('cool', 4, { tier: 'Cool' });
    // Azurite answers as service version 2025-11-05. A proxy makes its Get Blob answers look like Azure's
    // current ones, which carry x-ms-access-tier (the tier Azurite itself holds).
    const tier = (await written.getProperties()).accessTier ?? '';
    const upstream = new URL(written.url);
    const sent: string[] = [];
    const proxy = createServer((request, response) => {
      sent.push(request.method ?? '');
      const forwarded = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          const headers = { ...answer.headers };
          if (request.method === 'GET') Object.assign(headers, { 'x-ms-version': '2026-10-06', 'x-ms-access-tier': tier });
          response.writeHead(answer.statusCode ?? 502, headers);
          answer.pipe(response);
        },
      );
      request.pipe(forwarded);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxied = new URL(written.url);
      proxied.port = String((proxy.address() as AddressInfo).port);
      const blob = new BlobClient(proxied.toString(), written.credential);
      const key = keyFor(written.name);
      const result = await copyBlobToS3({
        source: { blob },
        target: { s3, bucket, key, prefix, features },
        storageClassByTier: { Cool: 'STANDARD_IA' },
      });
      expect(result).toMatchObject({ outcome: 'copied' });
      expect(sent).toEqual(['GET']);
      expect((await head(key)).StorageClass).toBe('STANDARD_IA');
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('backs up the bytes of a blob whose metadata does not fit S3, with the rest in a sidecar outside the key root', async () => {
    const blob = container.getBlockBlobClient('heavy-metadata.txt');
    // Lower-case names: Azurite stores them as Node delivers its request headers, lower-cased.
    const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`field${index}`, 'x'.repeat(300)]));
    await blob.upload('heavy', 5, { metadata, tags: { 'aws:reserved': 'no' } });
    const key = keyFor(blob.name);
    const result = await copy(blob.name);
    const sidecarKey = sidecarKeyFor({ prefix, key });
    expect(result).toMatchObject({ outcome: 'copied', sidecar: { key: sidecarKey, tags: ['aws:reserved'] } });
    expect(sidecarKey.startsWith(`${prefix}.blobferry-properties/`)).toBe(true);
    const recorded = recordedSourceOf((await head(key)).Metadata);
    expect(recorded.inSidecar).toEqual(['metadata', 'tags']);
    const sidecar = await readSidecar({ s3, bucket, sidecarKey });
    expect(sidecar).toMatchObject({ key, tags: { 'aws:reserved': 'no' } });
    expect(Object.keys(sidecar.metadata).toSorted()).toEqual(result.sidecar?.metadata.toSorted());
    // Every entry is in one place or the other, under its original name.
    expect({ ...recorded.metadata, ...sidecar.metadata }).toEqual(metadata);
    expect(await tagsOf(key)).toEqual({});

    // A delete hides the sidecar with its object (libs/transfer's one home of deletes).
    await blob.delete();
    expect(await deleteBackup({ s3, bucket, key, prefix, sourceExists: () => blob.exists() })).toBe('marker-written');
    expect(await objectExists(s3, bucket, key)).toBe(false);
    expect(await objectExists(s3, bucket, sidecarKey)).toBe(false);
  });

  it('updates only the properties in place when the bytes are unchanged, never uploading them again', async () => {
    const blob = container.getBlockBlobClient('props.txt');
    await blob.upload('same bytes', 10, { metadata: { a: '1' } });
    const key = keyFor(blob.name);
    expect(await copy(blob.name)).toMatchObject({ outcome: 'copied' });
    const commands = recordCommands(s3);
    // A small blob's copy first tries to create the object (If-None-Match: *), which S3 refuses here because it
    // exists, and only then reads and judges it: that refused create is the one body sent; nothing is stored again.
    const writes: string[] = [];
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (/^(PutObject|UploadPart|CreateMultipartUpload)Command$/.test(context.commandName ?? ''))
          writes.push(`${context.commandName} ${(args.input as { IfNoneMatch?: string }).IfNoneMatch ?? ''}`.trim());
        return next(args);
      },
      { step: 'initialize', name: 'record-writes' },
    );
    const noBytes = () => expect(writes.filter((write) => write !== 'PutObjectCommand *')).toEqual([]);

    // Set Blob Metadata: a new ETag, the same bytes (Content-MD5 equals the recorded source-md5).
    await blob.setMetadata({ a: '2', b: 'new' });
    commands.length = 0;
    const metadataResult = await copy(blob.name, { target: { s3, bucket, key, prefix, features } });
    expect(metadataResult).toMatchObject({ outcome: 'properties-updated', changed: ['source-version', 'metadata'], bytes: 0 });
    expect(commands).toContain('CopyObjectCommand');
    expect(recordedSourceOf((await head(key)).Metadata)).toMatchObject({
      etag: (await blob.getProperties()).etag?.replaceAll('"', ''),
      metadata: { a: '2', b: 'new' },
    });
    // The copy keeps a full-object checksum of the (same) bytes, for verify --deep.
    const checksummed = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    expect(checksummed.ChecksumCRC32).toBe(await checksumOf('CRC32', Buffer.from('same bytes')));

    // Set Blob Tags: neither ETag nor Last-Modified changes; PutObjectTagging, no CopyObject.
    await blob.setTags({ team: 'ops' });
    commands.length = 0;
    expect(await copy(blob.name)).toMatchObject({ outcome: 'properties-updated', changed: ['tags'] });
    expect(commands).toContain('PutObjectTaggingCommand');
    expect(commands).not.toContain('CopyObjectCommand');
    expect(await tagsOf(key)).toEqual({ team: 'ops' });

    // Set Blob Tier: the storage class moves where the mapping says so.
    await blob.setAccessTier('Cool');
    commands.length = 0;
    expect(await copy(blob.name, { storageClassByTier: { Cool: 'STANDARD_IA' } })).toMatchObject({
      outcome: 'properties-updated',
      changed: ['access-tier', 'storage-class'],
    });
    const moved = await head(key);
    expect(moved.StorageClass).toBe('STANDARD_IA');
    expect(recordedSourceOf(moved.Metadata).accessTier).toBe('Cool');
    expect(await tagsOf(key)).toEqual({ team: 'ops' });
    noBytes();
    expect((await readObject(s3, bucket, key)).toString()).toBe('same bytes');

    // Nothing changed: up to date, with no tag request for a blob and an object that have none... or one each.
    commands.length = 0;
    expect(await copy(blob.name, { storageClassByTier: { Cool: 'STANDARD_IA' } })).toMatchObject({ outcome: 'skipped-up-to-date' });
    noBytes();
  });

  it('shows a block-uploaded blob (no Content-MD5) unchanged by its stored checksum before updating properties', async () => {
    const blob = container.getBlockBlobClient('no-md5.bin');
    const data = bytes(12 * MiB);
    await blob.uploadData(data, { blockSize: 4 * MiB, maxSingleShotSize: MiB });
    expect((await blob.getProperties()).contentMD5).toBeUndefined();
    const key = keyFor(blob.name);
    expect(await copy(blob.name)).toMatchObject({ outcome: 'copied', parts: 3 });
    await blob.setHTTPHeaders({ blobContentType: 'application/x-test' });
    const commands = recordCommands(s3);
    expect(await copy(blob.name)).toMatchObject({ outcome: 'properties-updated', changed: ['source-version', 'headers'] });
    expect(commands.filter((name) => /^(PutObject|UploadPart|CreateMultipartUpload)Command$/.test(name))).toEqual([]);
    expect((await head(key)).ContentType).toBe('application/x-test');
    expect((await readObject(s3, bucket, key)).equals(data)).toBe(true);
  });

  it('copies an object onto itself part by part (UploadPartCopy, as above 5 GiB), keeping its bytes and full-object checksum', async () => {
    const key = `${prefix}in-place/parts.bin`;
    const data = bytes(12 * MiB + 5);
    const crc = await checksumOf('CRC32', data);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ChecksumAlgorithm: 'CRC32', ChecksumCRC32: crc }));
    const before = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    const commands = recordCommands(s3);
    await copyInPartsOntoItself({
      s3,
      bucket,
      key,
      abortSignal: undefined,
      fields: { Metadata: { note: 'new' }, ContentType: 'text/x-new', StorageClass: 'STANDARD_IA', Tagging: 'k=v' },
      s3Etag: before.ETag ?? '',
      object: objectStateOf(before),
      partBytes: 5 * MiB,
    });
    expect(commands.filter((name) => name === 'UploadPartCopyCommand')).toHaveLength(3);
    expect(commands).not.toContain('UploadPartCommand');
    const after = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    expect(after).toMatchObject({ Metadata: { note: 'new' }, ContentType: 'text/x-new', StorageClass: 'STANDARD_IA', ChecksumCRC32: crc });
    expect(await tagsOf(key)).toEqual({ k: 'v' });
    expect((await readObject(s3, bucket, key)).equals(data)).toBe(true);
  });

  it('refuses an archived blob with no backup as permanent, and moves a backed-up one to its archive class', async () => {
    const lone = container.getBlockBlobClient('archived-lone.txt');
    await lone.upload('cold', 4);
    await lone.setAccessTier('Archive');
    const failure = await copy(lone.name).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(BlobArchivedError);
    expect((failure as Error).message).toContain('archived: rehydrate');
    expect(isRetryable(failure)).toBe(false);

    const kept = container.getBlockBlobClient('archived-kept.txt');
    await kept.upload('kept', 4);
    const mapping = { Archive: 'DEEP_ARCHIVE' } as const;
    expect(await copy(kept.name, { storageClassByTier: mapping })).toMatchObject({ outcome: 'copied' });
    await kept.setAccessTier('Archive');
    expect(await copy(kept.name, { storageClassByTier: mapping })).toMatchObject({
      outcome: 'properties-updated',
      changed: ['access-tier', 'storage-class'],
    });
    const key = keyFor(kept.name);
    expect((await head(key)).StorageClass).toBe('DEEP_ARCHIVE');

    // An object in DEEP_ARCHIVE cannot be copied in place (here: a mapping changed to GLACIER): reported, tags still applied.
    await kept.setTags({ state: 'frozen' });
    const blocked = await copy(kept.name, { storageClassByTier: { Archive: 'GLACIER' } });
    expect(blocked).toMatchObject({ outcome: 'skipped-archived-in-target', changed: ['storage-class', 'tags'] });
    const frozen = await head(key);
    expect(frozen.StorageClass).toBe('DEEP_ARCHIVE');
    // moto refuses GetObjectTagging on an archived object (S3 does not): the count shows the tag arrived.
    expect(frozen.TagCount).toBe(1);
  });
});
