import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import {
  AZURE_INVENTORY_CONTAINER,
  AZURE_INVENTORY_RULE,
  S3_INVENTORY_DESTINATION_PREFIX,
  S3_INVENTORY_ID,
  s3InventoryBucketFor,
} from '@blobferry/contract';
import {
  AZURE_REPORT_FIELDS,
  publishAzureReport,
  publishS3Report,
  S3_PARQUET_SCHEMA,
  writeAzureReportFile,
  writeS3ReportFile,
  type Stack,
} from '@blobferry/local-cloud';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';

// Two inventory reports of an estate too large to seed (10^7 blobs and more), written as the services write them
// (tools/local-cloud's report files and layouts), with a difference of every kind planted in every 10,000 names:
//   i % 10000 = 1 missing (no S3 row)              2 extra (no Azure row)           3 size differs
//               4 stale (other MD5, a day older)   5 other MD5, a minute later       6 multipart ETag (HEAD)
//               7 no Content-MD5 (HEAD)            8 SSE-KMS (HEAD)                  9 written after the S3 report (read live)
// Every other pair is in sync: same size, object a minute after the blob, ETag = hex of the Content-MD5.

export const ESTATE_CONTAINER = 'inventoried';
/** Differences per 10,000 names, by what decides them. */
export const PLANTED_PER_10K = {
  decided: { missing: 1, extra: 1, sizeMismatch: 1, stale: 1, checksumMismatch: 1 },
  needsHead: 3,
  readLive: 1,
};

const ROWS_PER_FILE = 1_000_000;

export interface PublishedEstate {
  rows: number;
  keyRoot: string;
  azureStartedAt: Date;
  s3StartedAt: Date;
  /** Both reports' bytes. */
  reportBytes: number;
  generateS: number;
  publishS: number;
  /** Each report's manifest, so a run reads these reports whatever was published since. */
  azureManifest: string;
  s3Manifest: string;
}

async function directorySize(directory: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(directory)) total += (await stat(join(directory, name))).size;
  return total;
}

/** Generates both reports of `rows` names into `directory`, uploads them where infra puts them, and removes the local files. */
export async function publishInventoryEstate(stack: Stack, rows: number, directory: string): Promise<PublishedEstate> {
  const now = Date.now();
  const azureStartedAt = new Date(now - 3600_000);
  const s3StartedAt = new Date(now - 2 * 3600_000);
  const blobsFrom = now - 30 * 3600_000;
  const keyRoot = `${stack.azure.accountName}/${ESTATE_CONTAINER}/`;
  await mkdir(directory, { recursive: true });
  const started = performance.now();
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  const azureFiles: string[] = [];
  const s3Files: string[] = [];
  try {
    for (let first = 0; first < rows; first += ROWS_PER_FILE) {
      const last = Math.min(rows, first + ROWS_PER_FILE);
      const names = `
        SELECT i, i % 10000 AS k, 'd' || lpad((i // 10000)::VARCHAR, 5, '0') || '/b' || lpad(i::VARCHAR, 9, '0') AS name,
               printf('%016x%016x', hash(2 * i + 1), hash(2 * i + 2)) AS md5_hex, 1000 + i % 5000 AS size,
               CASE WHEN i % 10000 = 9 THEN ${s3StartedAt.getTime() + 1800_000} ELSE ${blobsFrom} + (i % 36000) * 1000 END AS blob_ms
        FROM range(${first}, ${last}) t(i)`;
      const azurePath = join(directory, `azure-${azureFiles.length}.parquet`);
      await writeAzureReportFile(
        connection,
        `SELECT ${`'${ESTATE_CONTAINER}/'`} || name AS name, blob_ms AS created_ms, blob_ms AS last_modified_ms, '0x8DC' || upper(substr(md5_hex, 1, 12)) AS etag,
                size, 'application/octet-stream' AS content_type, CASE WHEN k = 7 THEN NULL ELSE to_base64(unhex(md5_hex)) END AS md5,
                'BlockBlob' AS blob_type, 'Hot' AS access_tier, NULL::VARCHAR AS metadata, NULL::VARCHAR AS tags
         FROM (${names}) WHERE k <> 2`,
        azurePath,
        'parquet',
      );
      azureFiles.push(azurePath);
      const s3Path = join(directory, `s3-${s3Files.length}.parquet`);
      await writeS3ReportFile(
        connection,
        `SELECT '${stack.aws.bucket}' AS bucket, '${keyRoot}' || name AS key, CASE WHEN k = 3 THEN size + 1 ELSE size END AS size,
                CASE WHEN k = 4 THEN blob_ms - 86400000 ELSE blob_ms + 60000 END AS last_modified_ms,
                CASE WHEN k IN (4, 5) THEN printf('%016x%016x', hash(i), hash(i + 7)) WHEN k = 6 THEN md5_hex || '-2' ELSE md5_hex END AS etag,
                'STANDARD' AS storage_class, k = 6 AS is_multipart, CASE WHEN k = 8 THEN 'SSE-KMS' ELSE 'SSE-S3' END AS encryption_status,
                'CRC32' AS checksum_algorithm
         FROM (${names}) WHERE k NOT IN (1, 9)`,
        s3Path,
        'parquet',
      );
      s3Files.push(s3Path);
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  const reportBytes = await directorySize(directory);
  const generated = performance.now();
  const account = BlobServiceClient.fromConnectionString(stack.azure.connectionString);
  const destination = account.getContainerClient(AZURE_INVENTORY_CONTAINER);
  await destination.createIfNotExists();
  let azureManifest = '';
  let s3Manifest = '';
  const s3 = new S3Client({
    endpoint: stack.aws.s3Endpoint,
    region: stack.aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.aws.emulatorAccessKeyId, secretAccessKey: stack.aws.emulatorSecretAccessKey },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: s3InventoryBucketFor(stack.aws.bucket) })).catch((error: { name?: string }) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
    azureManifest = await publishAzureReport({
      destination,
      rule: AZURE_INVENTORY_RULE,
      format: 'parquet',
      schemaFields: AZURE_REPORT_FIELDS,
      startedAt: azureStartedAt,
      files: azureFiles,
      objectCount: rows,
      totalObjectSize: 0,
    });
    s3Manifest = await publishS3Report({
      s3,
      bucket: s3InventoryBucketFor(stack.aws.bucket),
      destinationPrefix: S3_INVENTORY_DESTINATION_PREFIX,
      id: S3_INVENTORY_ID,
      sourceBucket: stack.aws.bucket,
      format: 'parquet',
      fileSchema: S3_PARQUET_SCHEMA,
      startedAt: s3StartedAt,
      files: s3Files,
    });
  } finally {
    s3.destroy();
    await rm(directory, { recursive: true, force: true });
  }
  return {
    rows,
    keyRoot,
    azureStartedAt,
    s3StartedAt,
    reportBytes,
    generateS: (generated - started) / 1000,
    publishS: (performance.now() - generated) / 1000,
    azureManifest,
    s3Manifest,
  };
}
