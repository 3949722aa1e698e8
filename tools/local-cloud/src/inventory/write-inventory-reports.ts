import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import {
  AZURE_INVENTORY_CONTAINER,
  AZURE_INVENTORY_RULE,
  S3_INVENTORY_DESTINATION_PREFIX,
  S3_INVENTORY_ID,
  s3InventoryBucketFor,
  s3InventoryPrefixFor,
} from '@blobferry/contract';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { Stack } from '../types.js';
import { publishAzureReport, publishS3Report } from './publish-reports.js';
import {
  AZURE_REPORT_FIELDS,
  S3_PARQUET_SCHEMA,
  S3_REPORT_FIELDS,
  writeAzureReportFile,
  writeS3ReportFile,
  type ReportFileFormat,
} from './report-files.js';

// Inventory reports of what the local clouds hold, on demand: Azure Blob Inventory of every container of the
// Azurite account (but the reports' own), S3 Inventory of the backup bucket, each written as the service writes
// it and where blobferry's deployments configure them (libs/inventory's names).

export interface WriteInventoryReportsOptions {
  stack: Stack;
  /** Both reports' format (default parquet, as infra configures them). */
  format?: ReportFileFormat;
  /** When each scan began (default: now); a report says nothing of what changed after. */
  azureStartedAt?: Date;
  s3StartedAt?: Date;
  /** false: stop before each report's checksum file, as a report looks while it is being written. */
  complete?: boolean;
}

export interface WrittenInventoryReports {
  azure: { container: string; rule: string; manifest: string };
  s3: { bucket: string; prefix: string; manifest: string };
}

function adminS3(stack: Stack): S3Client {
  const { aws } = stack;
  return new S3Client({
    endpoint: aws.s3Endpoint,
    region: aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: aws.emulatorAccessKeyId, secretAccessKey: aws.emulatorSecretAccessKey },
  });
}

async function appendRows<T>(
  connection: DuckDBConnection,
  table: string,
  rows: AsyncIterable<T>,
  append: (appender: DuckDBAppender, row: T) => void,
): Promise<number> {
  const appender = await connection.createAppender(table);
  let count = 0;
  for await (const row of rows) {
    append(appender, row);
    appender.endRow();
    count += 1;
  }
  appender.closeSync();
  return count;
}

const text = (appender: DuckDBAppender, value: string | undefined) =>
  value === undefined ? appender.appendNull() : appender.appendVarchar(value);

async function azureRows(connection: DuckDBConnection, account: BlobServiceClient): Promise<{ count: number; bytes: number }> {
  await connection.run(`CREATE TABLE azure_rows (name VARCHAR, created_ms BIGINT, last_modified_ms BIGINT, etag VARCHAR, size BIGINT,
    content_type VARCHAR, md5 VARCHAR, blob_type VARCHAR, access_tier VARCHAR, metadata VARCHAR, tags VARCHAR)`);
  let bytes = 0;
  async function* blobs() {
    for await (const container of account.listContainers()) {
      if (container.name === AZURE_INVENTORY_CONTAINER) continue;
      for await (const blob of account.getContainerClient(container.name).listBlobsFlat({ includeMetadata: true, includeTags: true })) {
        yield { container: container.name, blob };
      }
    }
  }
  const count = await appendRows(connection, 'azure_rows', blobs(), (appender, { container, blob }) => {
    const { properties } = blob;
    bytes += properties.contentLength ?? 0;
    text(appender, `${container}/${blob.name}`);
    appender.appendBigInt(BigInt((properties.createdOn ?? properties.lastModified).getTime()));
    appender.appendBigInt(BigInt(properties.lastModified.getTime()));
    text(appender, properties.etag);
    appender.appendBigInt(BigInt(properties.contentLength ?? 0));
    text(appender, properties.contentType);
    text(appender, properties.contentMD5 ? Buffer.from(properties.contentMD5).toString('base64') : undefined);
    text(appender, properties.blobType);
    text(appender, properties.accessTier);
    text(appender, blob.metadata && Object.keys(blob.metadata).length > 0 ? JSON.stringify(blob.metadata) : undefined);
    text(appender, blob.tags && Object.keys(blob.tags).length > 0 ? JSON.stringify(blob.tags) : undefined);
  });
  return { count, bytes };
}

async function s3Rows(connection: DuckDBConnection, s3: S3Client, bucket: string): Promise<void> {
  await connection.run(`CREATE TABLE s3_rows (bucket VARCHAR, key VARCHAR, size BIGINT, last_modified_ms BIGINT, etag VARCHAR,
    storage_class VARCHAR, is_multipart BOOLEAN, encryption_status VARCHAR, checksum_algorithm VARCHAR)`);
  async function* objects() {
    let continuationToken: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: continuationToken }));
      yield* page.Contents ?? [];
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }
  await appendRows(connection, 's3_rows', objects(), (appender, object) => {
    const etag = (object.ETag ?? '').replaceAll('"', '');
    text(appender, bucket);
    text(appender, object.Key ?? '');
    appender.appendBigInt(BigInt(object.Size ?? 0));
    appender.appendBigInt(BigInt((object.LastModified ?? new Date(0)).getTime()));
    text(appender, etag);
    text(appender, object.StorageClass ?? 'STANDARD');
    appender.appendBoolean(etag.includes('-'));
    // Every object S3 stores is encrypted, SSE-S3 unless the bucket or request asked for KMS (infra: SSE-S3).
    text(appender, 'SSE-S3');
    text(appender, object.ChecksumAlgorithm?.join(',') ?? undefined);
  });
}

async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
}

/** Writes an Azure Blob Inventory report and an S3 Inventory report of what the local clouds hold now. */
export async function writeInventoryReports(options: WriteInventoryReportsOptions): Promise<WrittenInventoryReports> {
  const { stack } = options;
  const format = options.format ?? 'parquet';
  const now = new Date();
  const directory = await mkdtemp(join(tmpdir(), 'local-cloud-inventory-'));
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
  const connection = await instance.connect();
  const s3 = adminS3(stack);
  try {
    const account = BlobServiceClient.fromConnectionString(stack.azure.connectionString);
    const destination: ContainerClient = account.getContainerClient(AZURE_INVENTORY_CONTAINER);
    await destination.createIfNotExists();
    const azure = await azureRows(connection, account);
    const azureFile = join(directory, `azure.${format}`);
    await writeAzureReportFile(connection, 'SELECT * FROM azure_rows', azureFile, format);
    const azureManifest = await publishAzureReport({
      destination,
      rule: AZURE_INVENTORY_RULE,
      format,
      schemaFields: AZURE_REPORT_FIELDS,
      startedAt: options.azureStartedAt ?? now,
      files: [azureFile],
      objectCount: azure.count,
      totalObjectSize: azure.bytes,
      ...(options.complete === false ? { complete: false } : {}),
    });

    const sourceBucket = stack.aws.bucket;
    const reportsBucket = s3InventoryBucketFor(sourceBucket);
    await ensureBucket(s3, reportsBucket);
    await s3Rows(connection, s3, sourceBucket);
    const s3File = join(directory, `s3.${format === 'csv' ? 'csv.gz' : 'parquet'}`);
    await writeS3ReportFile(connection, 'SELECT * FROM s3_rows', s3File, format);
    const s3Manifest = await publishS3Report({
      s3,
      bucket: reportsBucket,
      destinationPrefix: S3_INVENTORY_DESTINATION_PREFIX,
      id: S3_INVENTORY_ID,
      sourceBucket,
      format,
      fileSchema: format === 'csv' ? S3_REPORT_FIELDS.join(', ') : S3_PARQUET_SCHEMA,
      startedAt: options.s3StartedAt ?? now,
      files: [s3File],
      ...(options.complete === false ? { complete: false } : {}),
    });
    return {
      azure: { container: AZURE_INVENTORY_CONTAINER, rule: AZURE_INVENTORY_RULE, manifest: azureManifest },
      s3: { bucket: reportsBucket, prefix: s3InventoryPrefixFor(sourceBucket), manifest: s3Manifest },
    };
  } finally {
    s3.destroy();
    connection.closeSync();
    instance.closeSync();
    await rm(directory, { recursive: true, force: true });
  }
}
