// The real data path: Azurite -> copyBlobToS3 -> s3rver and moto, over loopback HTTP.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  BlobClient,
  BlockBlobClient,
  newPipeline,
  type ContainerClient,
  type HttpOperationResponse,
  type RequestPolicy,
  type WebResource,
} from '@azure/storage-blob';
import { BACKUP_METADATA } from '@blobferry/contract';
import { isRetryable } from '../src/classify.js';
import { ContentMd5MismatchError, KeyTooLongError, SourceChangedError } from '../src/errors.js';
import { EndpointFeatureRejectedError } from '../src/s3-endpoint.js';
import { backupKeyFor, copyBlobToS3, digestBlob, digestObject, parseBlobUrl, type S3EndpointFeatures } from '../src/index.js';
import {
  MiB,
  beforeCommand,
  faultsOf,
  bytes,
  freshContainer,
  md5Of,
  objectExists,
  openUploads,
  readObject,
  recordCommands,
  s3ClientFor,
  type CloudEndpoints,
} from './support/clients.js';
import type { LocalCloud } from '@blobferry/local-cloud';
import { DOWNLOAD_RESUMES } from '@blobferry/retry-policy';
import { s3Flavours, startCloud } from './support/cloud.js';
import { checksumOf } from '../src/checksum.js';

const partSize = 5 * MiB;

/** `written` through a pipeline that shows `onSend` every Azure request before it goes, and `onAnswered` its answer. */
function observedBlob(
  written: BlockBlobClient,
  onSend: (request: WebResource) => void,
  onAnswered?: (request: WebResource, response: HttpOperationResponse) => void,
): BlockBlobClient {
  const pipeline = newPipeline(written.credential);
  pipeline.factories.unshift({
    create: (next: RequestPolicy) => ({
      sendRequest: async (request: WebResource) => {
        onSend(request);
        const response = await next.sendRequest(request);
        onAnswered?.(request, response);
        return response;
      },
    }),
  });
  return new BlockBlobClient(written.url, pipeline);
}

/** A client of `written`'s blob and the GETs it sends: where each range starts, and the ETag it is pinned to. */
function recordedReads(written: BlockBlobClient): { blob: BlockBlobClient; reads: { start: number; pin: string }[] } {
  const reads: { start: number; pin: string }[] = [];
  const blob = observedBlob(written, (request) => {
    if (request.method !== 'GET') return;
    reads.push({
      start: Number(/bytes=(\d+)-/.exec(request.headers.get('x-ms-range') ?? '')?.[1]),
      pin: request.headers.get('if-match') ?? 'unpinned',
    });
  });
  return { blob, reads };
}

/** A client of `writer`'s blob that overwrites it with `size` new bytes right before its first read past offset 0. */
function overwrittenBeforeSecondRange(writer: BlockBlobClient, size: number): BlobClient {
  let overwritten = false;
  class OverwrittenMidRead extends BlobClient {
    override async download(...args: Parameters<BlobClient['download']>) {
      if (args[0] !== undefined && args[0] > 0 && !overwritten) {
        overwritten = true;
        await writer.uploadData(bytes(size));
      }
      return super.download(...args);
    }
  }
  return new OverwrittenMidRead(writer.url, writer.credential);
}

describe.each(s3Flavours)('copyBlobToS3 against Azurite and %s', (flavour) => {
  let cloud: LocalCloud;
  let stack: CloudEndpoints;
  let container: ContainerClient;
  let bucket: string;
  /** What this flavour does with checksums and conditional writes, as its stack declares. */
  let features: S3EndpointFeatures;
  /** Shared by tests that add no middleware, so capabilities learned once are reused as in production. */
  let shared: S3Client;
  const s3 = () => s3ClientFor(stack);
  const keyFor = (blobName: string) =>
    backupKeyFor({ ...parseBlobUrl(container.getBlobClient(blobName).url), blobName }, { prefix: 'backup/' });
  /** moto lists multipart uploads; s3rver implements neither listing nor aborting them. */
  const expectNoOpenUploads = async (client: S3Client, key: string, commands: string[]) => {
    if (flavour === 'moto') expect(await openUploads(client, bucket, key)).toBe(0);
    if (commands.includes('CreateMultipartUploadCommand')) expect(commands).toContain('AbortMultipartUploadCommand');
  };

  beforeAll(async () => {
    cloud = await startCloud(flavour);
    stack = cloud.stack;
    bucket = stack.aws.bucket;
    features = stack.aws.s3Features;
    container = await freshContainer(stack);
    shared = s3();
  }, 240_000);
  afterAll(async () => cloud?.stop());

  it.each([
    ['0 bytes', 0, 0, 1],
    ['1 byte', 1, 0, 1],
    ['5 MiB - 1', 5 * MiB - 1, 0, 1],
    ['5 MiB', 5 * MiB, 0, 1],
    ['5 MiB + 1 (multipart, declared Content-MD5)', 5 * MiB + 1, 0, 2],
    ['5 MiB + 1 (multipart, no Content-MD5)', 5 * MiB + 1, 4 * MiB, 2],
    ['64 MiB (multipart, declared Content-MD5)', 64 * MiB, 0, 13],
  ])('round-trips %s byte for byte', async (label, size, blockSize, expectedParts) => {
    const data = bytes(size);
    const blob = container.getBlockBlobClient(`sizes/${label}`);
    // A single-shot upload gets a Content-MD5 from the service; staged blocks do not.
    await blob.uploadData(data, blockSize > 0 ? { maxSingleShotSize: blockSize, blockSize } : { maxSingleShotSize: 256 * MiB });
    expect((await blob.getProperties()).contentMD5 !== undefined).toBe(blockSize === 0);
    const client = shared;
    const progress: number[] = [];
    const key = keyFor(blob.name);
    const result = await copyBlobToS3({
      source: { blob },
      target: { s3: client, bucket, key, features },
      partSize,
      onProgress: (p) => progress.push(p.bytes),
    });

    expect(result).toMatchObject({ outcome: 'copied', key, bytes: size, parts: expectedParts, md5Base64: md5Of(data) });
    expect((await readObject(client, bucket, key)).equals(data)).toBe(true);
    expect(progress.at(-1)).toBe(size);
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const properties = await blob.getProperties();
    expect(head.Metadata).toMatchObject({
      [BACKUP_METADATA.sourceEtag]: properties.etag?.replaceAll('"', ''),
      [BACKUP_METADATA.sourceLastModified]: properties.lastModified?.toISOString(),
    });
    // The MD5 is recorded when known before the upload starts: single-part bodies, declared Content-MD5.
    const md5KnownUpFront = expectedParts === 1 || properties.contentMD5 !== undefined;
    expect(head.Metadata?.[BACKUP_METADATA.sourceMd5]).toBe(md5KnownUpFront ? md5Of(data) : undefined);
    // Whatever checksum the endpoint keeps must be the content's (readObject above validated it too), and
    // a reported checksum is one the endpoint holds.
    const stored = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    // moto computes the full-object CRC32 itself and must agree with ours, combined from the parts.
    if (flavour === 'moto') expect(result.checksum?.algorithm).toBe('CRC32');
    if (result.checksum) expect(stored[`Checksum${result.checksum.algorithm}`]).toBe(result.checksum.value);
    else expect([stored.ChecksumCRC32, stored.ChecksumCRC64NVME, stored.ChecksumCRC32C]).toEqual([undefined, undefined, undefined]);
    expect(await digestObject({ s3: client, bucket, key })).toEqual({ md5Base64: md5Of(data), bytes: size });
    expect(await digestBlob({ blob })).toEqual({ md5Base64: md5Of(data), bytes: size, etag: properties.etag });
    // The CRC path streams each 16 MiB range and combines the ranges' CRCs in order (64 MiB: 4 ranges).
    for (const algorithm of ['CRC32', 'CRC32C'] as const) {
      expect(await digestBlob({ blob, checksum: algorithm })).toEqual({
        checksum: { algorithm, value: await checksumOf(algorithm, data) },
        bytes: size,
        etag: properties.etag,
      });
    }
  });

  it('carries the standard headers, blob metadata and the sequencer', async () => {
    const blob = container.getBlockBlobClient('headers.txt');
    await blob.upload('hello', 5, {
      blobHTTPHeaders: {
        blobContentType: 'text/plain; charset=utf-8',
        blobContentEncoding: 'identity',
        blobContentLanguage: 'de-CH',
        blobContentDisposition: 'attachment; filename="h.txt"',
        blobCacheControl: 'max-age=60',
      },
      metadata: { owner: 'alice', project: 'ferry' },
    });
    const client = s3();
    const key = keyFor(blob.name);
    await copyBlobToS3({ source: { blob, sequencer: '00000000000000000000000000017a9b' }, target: { s3: client, bucket, key, features } });
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(head).toMatchObject({
      ContentType: 'text/plain; charset=utf-8',
      ContentEncoding: 'identity',
      ContentLanguage: 'de-CH',
      ContentDisposition: 'attachment; filename="h.txt"',
      CacheControl: 'max-age=60',
    });
    expect(head.Metadata).toMatchObject({
      'blob-owner': 'alice',
      'blob-project': 'ferry',
      [BACKUP_METADATA.sequencer]: '00000000000000000000000000017a9b',
    });
  });

  it('round-trips odd names through URL, key and object', async () => {
    // s3rver's router cannot address keys containing `//` (it answers with a non-S3 error page).
    const names = [
      'with space.txt',
      'ünïcödé/日本語.txt',
      'emoji 😀🚀.bin',
      'hash#q?pct%plus+.txt',
      'trailing/',
      ...(flavour === 's3rver' ? [] : ['double//slash']),
    ];
    const client = s3();
    const prefix = `odd/${accountAndContainer(container)}`;
    for (const name of names) {
      const data = bytes(100);
      const blob = container.getBlockBlobClient(name);
      await blob.upload(data, data.length);
      const parsed = parseBlobUrl(blob.url);
      expect(parsed.blobName, name).toBe(name);
      const key = backupKeyFor(parsed, { prefix: 'odd/' });
      expect(key).toBe(`${prefix}${name}`);
      const result = await copyBlobToS3({
        source: { blob: new BlobClient(blob.url, blob.credential) },
        target: { s3: client, bucket, key, features },
      });
      expect(result.outcome, name).toBe('copied');
      expect((await readObject(client, bucket, key)).equals(data), name).toBe(true);
    }
    // `.` and `..` segments cannot be blob names in practice (every HTTP client, the Azure SDK's
    // included, resolves them in the URL), but a key may still contain them and must survive verbatim
    // (s3rver's file store resolves them, so there it only reads back).
    const dotted = `${prefix}dots/../up/./here`;
    const plain = container.getBlockBlobClient('plain.txt');
    await plain.upload('dots', 4);
    await copyBlobToS3({ source: { blob: plain }, target: { s3: client, bucket, key: dotted, features } });
    expect((await readObject(client, bucket, dotted)).toString()).toBe('dots');

    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const expectedKeys = [...names.map((name) => `${prefix}${name}`), flavour === 's3rver' ? `${prefix}up/here` : dotted];
    expect(listed.Contents?.map((object) => object.Key).sort()).toEqual(expectedKeys.sort());
  });

  it('copies page blobs (unwritten pages read as zeros) and append blobs (committed length)', async () => {
    const client = s3();
    const page = container.getPageBlobClient('disk.vhd');
    await page.create(6 * MiB);
    const written = bytes(512 * 4);
    await page.uploadPages(written, MiB, written.length);
    const expectedPage = Buffer.alloc(6 * MiB);
    written.copy(expectedPage, MiB);
    const pageKey = keyFor(page.name);
    expect(await copyBlobToS3({ source: { blob: page }, target: { s3: client, bucket, key: pageKey, features }, partSize })).toMatchObject({
      outcome: 'copied',
      parts: 2,
    });
    expect((await readObject(client, bucket, pageKey)).equals(expectedPage)).toBe(true);

    const append = container.getAppendBlobClient('log.txt');
    await append.create();
    const chunks = [bytes(1000), bytes(2000), bytes(3)];
    for (const chunk of chunks) await append.appendBlock(chunk, chunk.length);
    const appendKey = keyFor(append.name);
    expect(await copyBlobToS3({ source: { blob: append }, target: { s3: client, bucket, key: appendKey, features } })).toMatchObject({
      outcome: 'copied',
      bytes: 3003,
    });
    expect((await readObject(client, bucket, appendKey)).equals(Buffer.concat(chunks))).toBe(true);
  });

  it('reads the parts into `concurrency` buffers, each reused once its part is uploaded', async () => {
    const data = bytes(8 * partSize + 123);
    const blob = container.getBlockBlobClient('reused-buffers.bin');
    await blob.uploadData(data, { maxSingleShotSize: 256 * MiB });
    const key = keyFor(blob.name);
    const allocations = vi.spyOn(Buffer, 'allocUnsafe');
    try {
      const result = await copyBlobToS3({ source: { blob }, target: { s3: shared, bucket, key, features }, partSize, concurrency: 2 });
      expect(result).toMatchObject({ outcome: 'copied', parts: 9, md5Base64: md5Of(data) });
      expect(allocations.mock.calls.filter(([size]) => size === partSize)).toHaveLength(2);
    } finally {
      allocations.mockRestore();
    }
    // A buffer handed to a second part before the first one's upload was done would show here.
    expect((await readObject(shared, bucket, key)).equals(data)).toBe(true);
  });

  it('copies a fresh small blob with one Azure GET and, where conditional writes are enforced, no target HEAD', async () => {
    const written = container.getBlockBlobClient('small-requests.bin');
    const data = bytes(64 * 1024);
    await written.upload(data, data.length);
    // The same blob through a pipeline that records every Azure request it sends.
    const azureRequests: string[] = [];
    /** Azure requests and S3 commands in the order they were sent, to show the two reads overlap. */
    const timeline: string[] = [];
    let answeredVersion = '';
    const blob = observedBlob(
      written,
      (request) => {
        azureRequests.push(`${request.method} ${request.headers.get('x-ms-range') ?? ''}`.trim());
        timeline.push(`azure ${request.method}`);
      },
      (request, response) => {
        timeline.push(`azure ${request.method} answered`);
        answeredVersion = response.headers.get('x-ms-version') ?? '';
      },
    );
    // Get Blob reports the access tier from service version 2026-10-06 on; an older service (Azurite 3.36
    // answers 2025-11-05) is asked for it once more (Get Blob Properties, a HEAD).
    const tierRead = () => (answeredVersion < '2026-10-06' ? ['HEAD'] : []);
    const client = s3();
    const commands = recordCommands(client);
    beforeCommand(client, 'HeadObjectCommand', 1, async () => {
      timeline.push('s3 HeadObject');
    });
    const key = keyFor(blob.name);
    const result = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize });
    expect(result).toMatchObject({ outcome: 'copied', bytes: data.length, parts: 1, md5Base64: md5Of(data) });
    // Was: Azure HEAD (getProperties) + GET, S3 HeadObject, HeadObject (pre-commit re-check), PutObject.
    // Enforced conditional writes: one PutObject with If-None-Match: *, which is the whole ordering guard.
    // Ignored: the target HEAD beside the source read, and the re-check right before the write.
    expect(azureRequests).toEqual([`GET bytes=0-${partSize - 1}`, ...tierRead()]);
    expect(commands).toEqual(
      features.conditionalWrites ? ['PutObjectCommand'] : ['HeadObjectCommand', 'HeadObjectCommand', 'PutObjectCommand'],
    );
    // The target HEAD is sent before any Azure answer arrived: it does not wait for the source.
    if (!features.conditionalWrites)
      expect(timeline.indexOf('s3 HeadObject')).toBeLessThan(timeline.findIndex((entry) => entry.endsWith(' answered')));
    expect((await readObject(client, bucket, key)).equals(data)).toBe(true);

    azureRequests.length = 0;
    commands.length = 0;
    expect(await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize })).toMatchObject({
      outcome: 'skipped-up-to-date',
    });
    expect(azureRequests).toEqual([`GET bytes=0-${partSize - 1}`, ...tierRead()]);
    // Enforced: the create is refused (412), then the target is read and judged.
    expect(commands).toEqual(features.conditionalWrites ? ['PutObjectCommand', 'HeadObjectCommand'] : ['HeadObjectCommand']);
  });

  it('skips a duplicate copy of the same ETag without writing', async () => {
    const blob = container.getBlockBlobClient('dup.bin');
    const data = bytes(1000);
    await blob.upload(data, data.length);
    const client = s3();
    const key = keyFor(blob.name);
    await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features } });
    const before = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const commands = recordCommands(client);
    const again = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features } });
    expect(again).toMatchObject({ outcome: 'skipped-up-to-date', bytes: 0, parts: 0, md5Base64: md5Of(data) });
    // Enforced conditional writes: the optimistic create is refused (412) before the target is read.
    expect(commands).toEqual(features.conditionalWrites ? ['PutObjectCommand', 'HeadObjectCommand'] : ['HeadObjectCommand']);
    const after = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(after.ETag).toBe(before.ETag);
  });

  it('replaces an older version of the object with a new one (conditional on the object it saw)', async () => {
    const blob = container.getBlockBlobClient('replace.bin');
    const key = keyFor(blob.name);
    for (const size of [6 * MiB, 7 * MiB, 100]) {
      const data = bytes(size);
      await blob.uploadData(data);
      expect((await copyBlobToS3({ source: { blob }, target: { s3: shared, bucket, key, features }, partSize })).outcome).toBe('copied');
      expect((await readObject(shared, bucket, key)).equals(data)).toBe(true);
    }
  });

  it('keeps the newer version when an older one arrives later (sequencer and Last-Modified)', async () => {
    const client = s3();
    const blob = container.getBlockBlobClient('versions.txt');
    await blob.upload('version 1', 9);
    const { snapshot } = await blob.createSnapshot();
    const older = blob.withSnapshot(snapshot ?? '');
    // Last-Modified has one-second resolution; make sure the versions differ.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await blob.upload('version 2', 9);
    const key = keyFor(blob.name);

    expect((await copyBlobToS3({ source: { blob, sequencer: '0002' }, target: { s3: client, bucket, key, features } })).outcome).toBe(
      'copied',
    );
    expect(
      (await copyBlobToS3({ source: { blob: older, sequencer: '0001' }, target: { s3: client, bucket, key, features } })).outcome,
    ).toBe('skipped-newer-in-target');
    expect((await copyBlobToS3({ source: { blob: older }, target: { s3: client, bucket, key, features } })).outcome).toBe(
      'skipped-newer-in-target',
    );
    expect((await readObject(client, bucket, key)).toString()).toBe('version 2');
  });

  it('aborts instead of committing when a newer source lands in the target during the copy', async () => {
    const blob = container.getBlockBlobClient('race.bin');
    const data = bytes(6 * MiB);
    await blob.uploadData(data);
    const client = s3();
    const key = keyFor(blob.name);
    const commands = recordCommands(client);
    // Another worker has just finished copying a newer version, right before CompleteMultipartUpload (or,
    // where the endpoint ignores conditions, right before the re-check that precedes it).
    const landNewer = async () => {
      await s3ClientFor(stack).send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: 'newer',
          Metadata: {
            [BACKUP_METADATA.sourceEtag]: 'newer',
            [BACKUP_METADATA.sourceLastModified]: new Date(Date.now() + 60_000).toISOString(),
          },
        }),
      );
    };
    if (features.conditionalWrites) beforeCommand(client, 'CompleteMultipartUploadCommand', 1, landNewer);
    else beforeCommand(client, 'HeadObjectCommand', 2, landNewer);
    const result = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize });
    expect(result.outcome).toBe('skipped-newer-in-target');
    // Enforced: the conditional Complete (If-None-Match: *) was refused. Ignored: it was never sent.
    if (!features.conditionalWrites) expect(commands).not.toContain('CompleteMultipartUploadCommand');
    expect((await readObject(client, bucket, key)).toString()).toBe('newer');
    await expectNoOpenUploads(client, key, commands);
  });

  it('fails with SourceChangedError and writes nothing when the blob is overwritten mid-copy', async () => {
    const data = bytes(16 * MiB);
    const writer = container.getBlockBlobClient('overwritten.bin');
    await writer.uploadData(data);
    const blob = overwrittenBeforeSecondRange(writer, 16 * MiB);
    const client = s3();
    const key = keyFor(writer.name);
    const commands = recordCommands(client);
    const failure = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize, concurrency: 1 }).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(SourceChangedError);
    expect(isRetryable(failure)).toBe(true);
    expect(await objectExists(client, bucket, key)).toBe(false);
    await expectNoOpenUploads(client, key, commands);
  });

  it('digests a blob with one GET per range: the first yields the snapshot, the others are pinned to its ETag', async () => {
    const writer = container.getBlockBlobClient('digest-ranges.bin');
    await writer.uploadData(bytes(20 * MiB));
    const requests: string[] = [];
    const blob = observedBlob(writer, (request) => {
      requests.push(`${request.method} ${request.headers.get('x-ms-range') ?? ''} ${request.headers.get('if-match') ?? 'unpinned'}`);
    });
    const { etag } = await writer.getProperties();
    // The MD5 holds ranges read ahead of their turn, in 8 MiB buffers; a CRC streams 16 MiB ranges.
    expect(await digestBlob({ blob })).toMatchObject({ bytes: 20 * MiB, etag });
    expect(requests.toSorted()).toEqual(
      [
        `GET bytes=0-${8 * MiB - 1} unpinned`,
        `GET bytes=${8 * MiB}-${16 * MiB - 1} ${etag}`,
        `GET bytes=${16 * MiB}-${20 * MiB - 1} ${etag}`,
      ].toSorted(),
    );
    requests.length = 0;
    expect(await digestBlob({ blob, checksum: 'CRC32' })).toMatchObject({ bytes: 20 * MiB, etag });
    expect(requests.toSorted()).toEqual(
      [`GET bytes=0-${16 * MiB - 1} unpinned`, `GET bytes=${16 * MiB}-${20 * MiB - 1} ${etag}`].toSorted(),
    );

    // An overwrite between the first range and the others is caught, whichever digest reads the blob.
    await expect(digestBlob({ blob: overwrittenBeforeSecondRange(writer, 20 * MiB) })).rejects.toBeInstanceOf(SourceChangedError);
    await expect(digestBlob({ blob: overwrittenBeforeSecondRange(writer, 20 * MiB), checksum: 'CRC32' })).rejects.toBeInstanceOf(
      SourceChangedError,
    );
  });

  it('resumes an Azure range cut mid-body where it broke off, pinned to its ETag, and fails retryably once every resume is cut too', async () => {
    const writer = container.getBlockBlobClient('digest-cut.bin');
    const data = bytes(20 * MiB);
    await writer.uploadData(data);
    const { etag } = await writer.getProperties();
    const { blob, reads: ranges } = recordedReads(writer);
    const faults = faultsOf(cloud);
    const cut = { service: 'azure', method: 'GET', pathIncludes: writer.name, status: 200, afterBytes: 1 * MiB } as const;
    // A CRC streams 16 MiB ranges, the first from the GET that gave the snapshot; an MD5 buffers 8 MiB ranges.
    for (const [checksum, rangeSize] of [
      ['CRC32', 16 * MiB],
      [undefined, 8 * MiB],
    ] as const) {
      ranges.length = 0;
      const before = faults.traffic('azure').responseBytes;
      faults.failNext(cut);
      const digest = await (checksum ? digestBlob({ blob, checksum }) : digestBlob({ blob }));
      expect(digest).toMatchObject(
        checksum ? { checksum: { algorithm: checksum, value: await checksumOf(checksum, data) } } : { md5Base64: md5Of(data) },
      );
      // One GET more than ranges: the rest of the cut range, from the byte where it broke off.
      const resumes = ranges.filter((range) => range.start % rangeSize !== 0);
      expect(ranges).toHaveLength(Math.ceil(data.length / rangeSize) + 1);
      expect(resumes).toEqual([{ start: expect.any(Number), pin: etag }]);
      expect(faults.traffic('azure').responseBytes - before).toBeLessThan(data.length + MiB / 2);
    }

    // A one-range blob whose first GET and every resume are cut: the digest fails, and a retry can finish it.
    const small = container.getBlockBlobClient('digest-cut-always.bin');
    await small.uploadData(bytes(6 * MiB));
    for (const checksum of ['CRC32', undefined] as const) {
      faults.failNext({ ...cut, pathIncludes: small.name, times: DOWNLOAD_RESUMES + 1 });
      const digestSmall = () => (checksum ? digestBlob({ blob: small, checksum }) : digestBlob({ blob: small }));
      const failure = await digestSmall().catch((error: unknown) => error);
      expect(failure, checksum ?? 'MD5').toMatchObject({ name: 'TruncatedReadError' });
      expect(isRetryable(failure), checksum ?? 'MD5').toBe(true);
      expect(await digestSmall()).toMatchObject({ bytes: 6 * MiB });
    }
  });

  it('keeps the upload open (nothing visible) when a part is refused, and retries a transient part failure', async () => {
    const blob = container.getBlockBlobClient('part-failure.bin');
    const data = bytes(12 * MiB);
    await blob.uploadData(data);
    const key = keyFor(blob.name);
    const faults = cloud.faults;
    if (!faults) throw new Error('local cloud started without its fault proxy');

    const client = s3();
    const commands = recordCommands(client);
    faults.failNext({ service: 's3', method: 'PUT', queryIncludes: 'partNumber=2', status: 403 });
    const failure = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize }).catch(
      (error: unknown) => error,
    );
    expect((failure as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(403);
    expect(isRetryable(failure)).toBe(true);
    expect(await objectExists(client, bucket, key)).toBe(false);
    // A retryable failure leaves the upload for the next attempt to resume, never an object.
    expect(commands).not.toContain('AbortMultipartUploadCommand');
    if (flavour === 'moto') expect(await openUploads(client, bucket, key)).toBe(1);

    // Five 503s on one part: more than the SDK's default three tries, fewer than the seven of S3_RETRY.
    faults.failNext({ service: 's3', method: 'PUT', queryIncludes: 'partNumber=2', status: 503, times: 5 });
    expect(await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize })).toMatchObject({
      outcome: 'copied',
      parts: 3,
    });
    expect((await readObject(client, bucket, key)).equals(data)).toBe(true);
    if (flavour === 'moto') expect(await openUploads(client, bucket, key)).toBe(0);
  });

  it.runIf(flavour === 'moto')(
    'resumes an interrupted upload of the same version, reading and uploading only the missing parts',
    async () => {
      const blob = container.getBlockBlobClient('resume/same-version.bin');
      const data = bytes(23 * MiB); // five parts: 5, 5, 5, 5, 3 MiB
      await blob.uploadData(data, { blockSize: 4 * MiB, maxSingleShotSize: 4 * MiB });
      const key = keyFor(blob.name);
      const faults = faultsOf(cloud);
      const client = s3();
      // The first run stops for good at part 4, after parts 1-3 reached S3 (concurrency 1 keeps the order).
      faults.failNext({ service: 's3', method: 'PUT', queryIncludes: 'partNumber=4', status: 403 });
      await expect(
        copyBlobToS3({
          source: { blob, lengthHint: data.length },
          target: { s3: client, bucket, key, features },
          partSize,
          concurrency: 1,
        }),
      ).rejects.toThrow();
      expect(await objectExists(client, bucket, key)).toBe(false);

      const commands = recordCommands(client);
      const before = faults.traffic('azure').responseBytes;
      const result = await copyBlobToS3({
        source: { blob, lengthHint: data.length },
        target: { s3: client, bucket, key, features },
        partSize,
        concurrency: 1,
      });
      const azureBytes = faults.traffic('azure').responseBytes - before;

      expect(result).toMatchObject({ outcome: 'copied', bytes: data.length, parts: 5 });
      expect(commands).not.toContain('CreateMultipartUploadCommand');
      expect(commands.filter((name) => name === 'UploadPartCommand')).toHaveLength(2);
      // Parts 4 and 5 only: 8 MiB of the 23 (the properties come from a HEAD, which has no body).
      expect(azureBytes).toBe(8 * MiB);
      expect((await readObject(client, bucket, key)).equals(data)).toBe(true);
      // The stored full-object CRC is the whole content's. (Real S3 lists each kept part's CRC, so the copy
      // combines them and sends the value; moto lists none, so the copy leaves the value to the endpoint and
      // claims no checksum it did not compute.)
      const stored = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
      expect(stored.ChecksumCRC32).toBe(await checksumOf('CRC32', data));
      expect(result.checksum).toBeUndefined();
      // The MD5 of the whole content is not known when kept parts were not read again.
      expect(result.md5Base64).toBeUndefined();
      expect(await digestObject({ s3: client, bucket, key })).toEqual({ md5Base64: md5Of(data), bytes: data.length });
      expect(await openUploads(client, bucket, key)).toBe(0);
    },
  );

  it.runIf(flavour === 'moto')(
    'never resumes parts of another source version or part size: the old upload is aborted and the copy starts over',
    async () => {
      const blob = container.getBlockBlobClient('resume/other-version.bin');
      const key = keyFor(blob.name);
      const faults = faultsOf(cloud);
      const client = s3();
      const first = bytes(12 * MiB);
      await blob.uploadData(first);
      faults.failNext({ service: 's3', method: 'PUT', queryIncludes: 'partNumber=3', status: 403 });
      await expect(
        copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize, concurrency: 1 }),
      ).rejects.toThrow();
      expect(await openUploads(client, bucket, key)).toBe(1);

      // Same version, other part size: its parts would be cut elsewhere.
      const commands = recordCommands(client);
      faults.failNext({ service: 's3', method: 'PUT', queryIncludes: 'partNumber=2', status: 403 });
      await expect(
        copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize: 6 * MiB, concurrency: 1 }),
      ).rejects.toThrow();
      expect(commands).toContain('AbortMultipartUploadCommand');
      expect(commands).toContain('CreateMultipartUploadCommand');
      expect(await openUploads(client, bucket, key)).toBe(1);

      // A new version of the blob: the upload left open holds parts of the old one.
      const second = bytes(12 * MiB);
      await blob.uploadData(second);
      const result = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize: 6 * MiB });
      expect(result).toMatchObject({ outcome: 'copied', parts: 2, md5Base64: md5Of(second) });
      expect((await readObject(client, bucket, key)).equals(second)).toBe(true);
      expect(await openUploads(client, bucket, key)).toBe(0);
    },
  );

  it.runIf(flavour === 'moto')('starts over when a kept part is not whole', async () => {
    const blob = container.getBlockBlobClient('resume/broken-part.bin');
    const data = bytes(12 * MiB);
    await blob.uploadData(data);
    const key = keyFor(blob.name);
    const faults = faultsOf(cloud);
    const client = s3();
    faults.failNext({ service: 's3', method: 'PUT', queryIncludes: 'partNumber=3', status: 403 });
    await expect(
      copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize, concurrency: 1 }),
    ).rejects.toThrow();
    // Part 2 replaced by a short one, as a writer cut off mid-part would leave it.
    const [upload] = (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads ?? [];
    await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: upload?.UploadId, PartNumber: 2, Body: data.subarray(0, MiB) }),
    );

    const commands = recordCommands(client);
    const result = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize });
    expect(commands.slice(0, commands.indexOf('CreateMultipartUploadCommand'))).toContain('AbortMultipartUploadCommand');
    expect(result).toMatchObject({ outcome: 'copied', parts: 3, md5Base64: md5Of(data) });
    expect((await readObject(client, bucket, key)).equals(data)).toBe(true);
  });

  it('copies when the target HEAD is refused with 403, as real S3 answers a missing key under a prefix-scoped role', async () => {
    const blob = container.getBlockBlobClient('head-403.txt');
    const data = bytes(1024);
    await blob.uploadData(data);
    const key = keyFor(blob.name);
    const faults = cloud.faults;
    if (!faults) throw new Error('local cloud started without its fault proxy');

    faults.failNext({ service: 's3', method: 'HEAD', pathIncludes: encodeURIComponent('head-403.txt'), status: 403 });
    expect(await copyBlobToS3({ source: { blob }, target: { s3: shared, bucket, key, features } })).toMatchObject({ outcome: 'copied' });
    expect((await readObject(shared, bucket, key)).equals(data)).toBe(true);
  });

  it('digestObject resumes an S3 download cut mid-body where it stopped', async () => {
    const key = `backup/digest-cut-${flavour}.bin`;
    const data = bytes(3 * MiB);
    await shared.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
    const faults = faultsOf(cloud);
    const before = faults.traffic('s3').responseBytes;
    faults.failNext({ service: 's3', method: 'GET', pathIncludes: 'digest-cut-', status: 200, afterBytes: 1 * MiB });
    expect(await digestObject({ s3: shared, bucket, key })).toEqual({ md5Base64: md5Of(data), bytes: data.length });
    // The resume asked for the rest only: about 3 MiB crossed the wire, not 4.
    expect(faults.traffic('s3').responseBytes - before).toBeLessThan(3.5 * MiB);
  });

  it('survives Azure 5xx answers and a download cut mid-range', async () => {
    const blob = container.getBlockBlobClient('azure-faults.bin');
    const data = bytes(11 * MiB);
    await blob.uploadData(data);
    const key = keyFor(blob.name);
    const faults = cloud.faults;
    if (!faults) throw new Error('local cloud started without its fault proxy');
    faults.failNext({ service: 'azure', method: 'GET', pathIncludes: blob.name, status: 503, times: 6 });
    faults.failNext({ service: 'azure', method: 'GET', pathIncludes: blob.name, status: 200, afterBytes: 1 * MiB });
    const result = await copyBlobToS3({ source: { blob }, target: { s3: shared, bucket, key, features }, partSize });
    expect(result).toMatchObject({ outcome: 'copied', md5Base64: md5Of(data) });
    expect((await readObject(shared, bucket, key)).equals(data)).toBe(true);
  });

  it('resumes a part read cut mid-body from where it broke off, so the copy needs no second delivery', async () => {
    const writer = container.getBlockBlobClient('part-cut.bin');
    const data = bytes(11 * MiB);
    await writer.uploadData(data);
    const { etag } = await writer.getProperties();
    const { blob, reads } = recordedReads(writer);
    const key = keyFor(writer.name);
    // Announced as large, the copy reads only parts (no first GET of part 1 with the properties), so the cut hits a part.
    faultsOf(cloud).failNext({ service: 'azure', method: 'GET', pathIncludes: writer.name, status: 200, afterBytes: 1 * MiB });
    const result = await copyBlobToS3({
      source: { blob, lengthHint: data.length },
      target: { s3: shared, bucket, key, features },
      partSize,
    });
    expect(result).toMatchObject({ outcome: 'copied', parts: 3, md5Base64: md5Of(data) });
    expect((await readObject(shared, bucket, key)).equals(data)).toBe(true);
    expect(reads).toHaveLength(4);
    expect(reads.filter((read) => read.start % partSize !== 0)).toEqual([{ start: expect.any(Number), pin: etag }]);
  });

  it('never completes when the content contradicts the declared Content-MD5', async () => {
    const client = s3();
    for (const [name, size] of [
      ['md5-multipart.bin', 11 * MiB],
      ['md5-single.bin', 1000],
    ] as const) {
      const blob = container.getBlockBlobClient(name);
      await blob.uploadData(bytes(size));
      await blob.setHTTPHeaders({ blobContentMD5: md5Buffer('something else'), blobContentType: 'application/octet-stream' });
      const key = keyFor(name);
      const commands = recordCommands(client);
      const failure = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features }, partSize }).catch(
        (error: unknown) => error,
      );
      expect(failure, name).toBeInstanceOf(ContentMd5MismatchError);
      expect(isRetryable(failure)).toBe(false);
      expect(commands).not.toContain('CompleteMultipartUploadCommand');
      expect(commands).not.toContain('PutObjectCommand');
      expect(await objectExists(client, bucket, key)).toBe(false);
      await expectNoOpenUploads(client, key, commands);
    }
  });

  it('honours abortSignal and cleans up', async () => {
    const blob = container.getBlockBlobClient('aborted.bin');
    await blob.uploadData(bytes(20 * MiB));
    const client = s3();
    const key = keyFor(blob.name);
    const commands = recordCommands(client);
    const controller = new AbortController();
    const failure = await copyBlobToS3({
      source: { blob },
      target: { s3: client, bucket, key, features },
      partSize,
      concurrency: 1,
      abortSignal: controller.signal,
      onProgress: () => controller.abort(),
    }).catch((error: unknown) => error);
    expect((failure as Error).name).toBe('AbortError');
    expect(isRetryable(failure)).toBe(false);
    expect(await objectExists(client, bucket, key)).toBe(false);
    await expectNoOpenUploads(client, key, commands);
  });

  it('refuses keys over 1,024 UTF-8 bytes before touching anything', async () => {
    const blob = container.getBlockBlobClient('x');
    await expect(copyBlobToS3({ source: { blob }, target: { s3: s3(), bucket, key: '😀'.repeat(257) } })).rejects.toBeInstanceOf(
      KeyTooLongError,
    );
  });

  it.runIf(flavour === 'moto')('writes a CRC32 checksum the endpoint confirms, and enforces conditional writes', async () => {
    const client = s3();
    const blob = container.getBlockBlobClient('checksum.bin');
    await blob.upload(bytes(1000), 1000);
    const key = keyFor(blob.name);
    const result = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features } });
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    expect(result.checksum).toEqual({ algorithm: 'CRC32', value: head.ChecksumCRC32 });

    // A newer copy lands after our re-check but before our PutObject: only the conditional write catches it.
    await blob.upload(bytes(1000), 1000);
    beforeCommand(client, 'PutObjectCommand', 1, async () => {
      await s3ClientFor(stack).send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: 'newer',
          Metadata: { [BACKUP_METADATA.sourceLastModified]: new Date(Date.now() + 60_000).toISOString() },
        }),
      );
    });
    expect((await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features } })).outcome).toBe(
      'skipped-newer-in-target',
    );
    expect((await readObject(client, bucket, key)).toString()).toBe('newer');
  });

  it.runIf(flavour === 'moto')('writes CRC32C when the endpoint is declared to take CRC32C, and explains a refused checksum', async () => {
    const client = s3();
    let rejections = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ChecksumAlgorithm?: string };
        if (context.commandName === 'PutObjectCommand' && input.ChecksumAlgorithm === 'CRC32') {
          rejections++;
          throw new S3ServiceException({
            name: 'InvalidRequest',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
            message: 'Checksum algorithm CRC32 is not supported',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'reject-crc32' },
    );
    const blob = container.getBlockBlobClient('refused-checksum.bin');
    await blob.upload(bytes(100), 100);
    const key = keyFor(blob.name);
    // Declared CRC32, refused: a retryable configuration error that names the setting; nothing written.
    for (let attempt = 0; attempt < 2; attempt++) {
      const failure = await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key, features } }).catch(
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(EndpointFeatureRejectedError);
      expect((failure as Error).message).toMatch(/S3_CHECKSUM/);
      expect(isRetryable(failure)).toBe(true);
    }
    // The same copy again asks again: no copy learns from an earlier one.
    expect(rejections).toBe(2);
    expect(await objectExists(client, bucket, key)).toBe(false);

    const result = await copyBlobToS3({
      source: { blob },
      target: { s3: client, bucket, key, features: { ...features, checksum: 'CRC32C' } },
    });
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    expect(result.checksum).toEqual({ algorithm: 'CRC32C', value: head.ChecksumCRC32C });
  });

  it('signs every data-carrying request without hashing its body (UNSIGNED-PAYLOAD), leaving integrity to Content-MD5 and the checksum', async () => {
    const client = s3();
    const signed: Array<{ command: string; payload: string | undefined }> = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        signed.push({ command: context.commandName ?? '?', payload: request.headers['x-amz-content-sha256'] });
        return next(args);
      },
      { step: 'finalizeRequest', name: 'record-payload-signing', priority: 'low' },
    );
    for (const [name, size] of [
      ['unsigned-single.bin', 1000],
      ['unsigned-multipart.bin', 6 * MiB],
    ] as const) {
      const blob = container.getBlockBlobClient(name);
      const data = bytes(size);
      await blob.uploadData(data);
      await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key: keyFor(name), features }, partSize });
      expect((await readObject(client, bucket, keyFor(name))).equals(data)).toBe(true);
    }
    const dataRequests = signed.filter((entry) => entry.command === 'PutObjectCommand' || entry.command === 'UploadPartCommand');
    expect(dataRequests.length).toBeGreaterThanOrEqual(3);
    expect(dataRequests.every((entry) => entry.payload === 'UNSIGNED-PAYLOAD')).toBe(true);
  });

  it('reads no target for a fresh small blob where conditional writes are enforced, twice where they are not', async () => {
    const blob = container.getBlockBlobClient('head-count.txt');
    await blob.upload(bytes(1000), 1000);
    const client = s3();
    const commands = recordCommands(client);
    await copyBlobToS3({ source: { blob }, target: { s3: client, bucket, key: keyFor(blob.name), features } });
    expect(commands.filter((name) => name === 'HeadObjectCommand').length).toBe(features.conditionalWrites ? 0 : 2);
  });
});

function md5Buffer(text: string): Uint8Array {
  return Buffer.from(md5Of(Buffer.from(text)), 'base64');
}

function accountAndContainer(container: ContainerClient): string {
  const { account } = parseBlobUrl(container.getBlobClient('x').url);
  return `${account}/${container.containerName}/`;
}
