import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { Readable } from 'node:stream';
import { forEachConcurrently, range } from './pool.js';

// The endpoints on their own, with no copy in between: what "the limit" of a scenario is made of. Bytes read are
// counted and dropped; bytes written come from one reused buffer, so the measuring process does no other work.

async function drain(stream: NodeJS.ReadableStream | Readable | undefined): Promise<number> {
  if (!stream) throw new Error('response has no body');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
  return bytes;
}

/** Downloads each blob (in ranges of `rangeSize` when given), discarding the bytes. */
export async function readBlobs(o: {
  container: ContainerClient;
  blobNames: string[];
  rangeSize?: number;
  concurrency: number;
}): Promise<number> {
  const reads: Array<{ name: string; offset: number; count?: number }> = [];
  for (const name of o.blobNames) {
    if (!o.rangeSize) {
      reads.push({ name, offset: 0 });
      continue;
    }
    const size = (await o.container.getBlobClient(name).getProperties()).contentLength ?? 0;
    for (let offset = 0; offset < size; offset += o.rangeSize) {
      reads.push({ name, offset, count: Math.min(o.rangeSize, size - offset) });
    }
  }
  let bytes = 0;
  await forEachConcurrently(reads, o.concurrency, async (read) => {
    const response = await o.container.getBlobClient(read.name).download(read.offset, read.count);
    bytes += await drain(response.readableStreamBody);
  });
  return bytes;
}

/** Reads each object whole, discarding the bytes. */
export async function readObjects(o: { s3: S3Client; bucket: string; keys: string[]; concurrency: number }): Promise<number> {
  let bytes = 0;
  await forEachConcurrently(o.keys, o.concurrency, async (key) => {
    const response = await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: key }));
    bytes += await drain(response.Body as Readable);
  });
  return bytes;
}

/** Writes `count` objects of `size` bytes; objects larger than `partSize` go up as multipart uploads. */
export async function writeObjects(o: {
  s3: S3Client;
  bucket: string;
  keyPrefix: string;
  count: number;
  size: number;
  partSize: number;
  concurrency: number;
}): Promise<number> {
  const buffer = Buffer.alloc(Math.min(o.size, o.partSize), 0x5a);
  if (o.size <= o.partSize) {
    await forEachConcurrently(range(o.count), o.concurrency, async (i) => {
      await o.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: `${o.keyPrefix}${i}`, Body: buffer }));
    });
    return o.count * o.size;
  }
  for (const i of range(o.count)) {
    const key = `${o.keyPrefix}${i}`;
    const { UploadId } = await o.s3.send(new CreateMultipartUploadCommand({ Bucket: o.bucket, Key: key }));
    const partCount = Math.ceil(o.size / o.partSize);
    const parts: Array<{ ETag: string; PartNumber: number }> = [];
    await forEachConcurrently(range(partCount), o.concurrency, async (index) => {
      const length = Math.min(o.partSize, o.size - index * o.partSize);
      const body = length === buffer.length ? buffer : buffer.subarray(0, length);
      const part = await o.s3.send(
        new UploadPartCommand({ Bucket: o.bucket, Key: key, UploadId, PartNumber: index + 1, Body: body }),
      );
      parts.push({ ETag: part.ETag ?? '', PartNumber: index + 1 });
    });
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    await o.s3.send(
      new CompleteMultipartUploadCommand({ Bucket: o.bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
    );
  }
  return o.count * o.size;
}

/** Lists every blob under each prefix (prefixes listed in parallel); returns the count. */
export async function listBlobs(o: { container: ContainerClient; prefixes: string[]; concurrency: number }): Promise<number> {
  let count = 0;
  await forEachConcurrently(o.prefixes, o.concurrency, async (prefix) => {
    for await (const page of o.container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 5000 })) {
      count += page.segment.blobItems.length;
    }
  });
  return count;
}

/** Lists every object under each prefix (prefixes listed in parallel); returns the count. */
export async function listObjects(o: { s3: S3Client; bucket: string; prefixes: string[]; concurrency: number }): Promise<number> {
  let count = 0;
  await forEachConcurrently(o.prefixes, o.concurrency, async (prefix) => {
    let token: string | undefined;
    do {
      const page = await o.s3.send(
        new ListObjectsV2Command({ Bucket: o.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: 1000 }),
      );
      count += page.Contents?.length ?? 0;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  });
  return count;
}
