import { createHash, randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ContainerClient } from '@azure/storage-blob';
import type { ReportFileFormat } from './report-files.js';

// Report files laid out and announced as each service does: the data files first, then the manifest, then the
// checksum file whose arrival marks the report complete. `complete: false` stops before the checksum (Azure:
// with the manifest still Pending), as a report looks while the service is still writing it.

const pad = (value: number) => String(value).padStart(2, '0');

function md5Hex(bytes: Buffer | string): string {
  return createHash('md5').update(bytes).digest('hex');
}

export interface PublishAzureReportOptions {
  /** The rule's destination container (in the source account). */
  destination: ContainerClient;
  rule: string;
  format: ReportFileFormat;
  schemaFields: readonly string[];
  startedAt: Date;
  files: readonly string[];
  objectCount: number;
  totalObjectSize: number;
  complete?: boolean;
}

/** Uploads an Azure Blob Inventory run under `YYYY/MM/DD/HH-MM-SS/<rule>/`; returns its manifest's blob name. */
export async function publishAzureReport(o: PublishAzureReportOptions): Promise<string> {
  const t = o.startedAt;
  const folder = `${t.getUTCFullYear()}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())}/${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}-${pad(t.getUTCSeconds())}/${o.rule}`;
  const files: Array<{ blob: string; size: number }> = [];
  for (const [index, path] of o.files.entries()) {
    // Azure names a rule's files <rule>_<n>_<m>.<ext> (Microsoft's example: blobinventory_1000000_0.csv).
    const blob = `${folder}/${o.rule}_1000000_${index}.${o.format}`;
    await o.destination.getBlockBlobClient(blob).uploadFile(path);
    files.push({ blob, size: (await stat(path)).size });
  }
  const complete = o.complete ?? true;
  const manifest = {
    destinationContainer: o.destination.containerName,
    endpoint: new URL(o.destination.url).origin,
    files,
    ...(complete ? { inventoryCompletionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
    inventoryStartTime: t.toISOString().replace(/\.\d+Z$/, 'Z'),
    ruleDefinition: {
      filters: { blobTypes: ['blockBlob', 'appendBlob', 'pageBlob'], includeBlobVersions: false, includeSnapshots: false, prefixMatch: [] },
      format: o.format,
      objectType: 'blob',
      schedule: 'daily',
      schemaFields: o.schemaFields,
    },
    ruleName: o.rule,
    status: complete ? 'Succeeded' : 'Pending',
    summary: { objectCount: o.objectCount, totalObjectSize: o.totalObjectSize },
    version: '1.0',
  };
  const manifestBlob = `${folder}/${o.rule}-manifest.json`;
  const text = JSON.stringify(manifest, null, 2);
  await o.destination.getBlockBlobClient(manifestBlob).upload(text, Buffer.byteLength(text));
  if (complete) {
    const checksum = md5Hex(text);
    await o.destination.getBlockBlobClient(`${folder}/${o.rule}-manifest.checksum`).upload(checksum, checksum.length);
  }
  return manifestBlob;
}

export interface PublishS3ReportOptions {
  s3: S3Client;
  /** The destination bucket, and the configuration's destination prefix and id. */
  bucket: string;
  destinationPrefix: string;
  id: string;
  sourceBucket: string;
  format: ReportFileFormat;
  /** CSV: the field names; Parquet: the message. */
  fileSchema: string;
  startedAt: Date;
  files: readonly string[];
  complete?: boolean;
}

/** Uploads an S3 Inventory report under `<prefix>/<source-bucket>/<id>/`; returns its manifest's key. */
export async function publishS3Report(o: PublishS3ReportOptions): Promise<string> {
  const root = `${o.destinationPrefix ? `${o.destinationPrefix}/` : ''}${o.sourceBucket}/${o.id}/`;
  const t = o.startedAt;
  const stamp = `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}-${pad(t.getUTCMinutes())}Z`;
  const hiveStamp = stamp.replace('T', '-').replace(/Z$/, '');
  const put = (key: string, body: Buffer | string) => o.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: body }));
  const files: Array<{ key: string; size: number; MD5checksum: string }> = [];
  for (const path of o.files) {
    const key = `${root}data/${randomUUID()}.${o.format === 'csv' ? 'csv.gz' : 'parquet'}`;
    const bytes = await readFile(path);
    await put(key, bytes);
    files.push({ key, size: bytes.length, MD5checksum: md5Hex(bytes) });
  }
  const manifest = {
    sourceBucket: o.sourceBucket,
    destinationBucket: `arn:aws:s3:::${o.bucket}`,
    version: '2016-11-30',
    creationTimestamp: String(t.getTime()),
    fileFormat: o.format === 'csv' ? 'CSV' : 'Parquet',
    fileSchema: o.fileSchema,
    files,
  };
  const manifestKey = `${root}${stamp}/manifest.json`;
  const text = JSON.stringify(manifest, null, 2);
  await put(manifestKey, text);
  if (o.complete ?? true) {
    await put(`${root}${stamp}/manifest.checksum`, md5Hex(text));
    await put(`${root}hive/dt=${hiveStamp}/symlink.txt`, files.map((file) => `s3://${o.bucket}/${file.key}`).join('\n'));
  }
  return manifestKey;
}
