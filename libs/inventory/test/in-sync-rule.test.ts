// The join settles in DuckDB only the pairs reconcile's classifyFromListings calls in sync, and hands every
// other pair over with the evidence the reports hold, in both services' formats (CSV and Parquet), whether it
// joins all names at once or in passes (as it does for an estate too large for one).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAzureReportFile, writeS3ReportFile, type ReportFileFormat } from '@blobferry/local-cloud';
import { classifyFromListings, type SourceBlob, type TargetObject } from '@blobferry/reconcile';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinInventoryReports, type LocalReport, type ReportDifference } from '../src/index.js';

const CONTAINER = 'photos';
const KEY_ROOT = 'backups/acct/photos/';
const MD5_HEX = '5d41402abc4b2a76b9719d911017c592';
const MD5_BASE64 = Buffer.from(MD5_HEX, 'hex').toString('base64');
const BLOB_MS = Date.parse('2026-12-01T10:00:00.400Z');

interface Case {
  name: string;
  source?: SourceBlob;
  target?: TargetObject;
}

/** Every combination of what classifyFromListings looks at, and names that test the key encoding and the order. */
function cases(): Case[] {
  const all: Case[] = [];
  const objectTimes = [-2000, -300, 300, 2000];
  const etags = [
    { etag: MD5_HEX, etagIsMd5: true },
    { etag: '0'.repeat(32), etagIsMd5: true },
    { etag: `${MD5_HEX}-3`, etagIsMd5: true },
    { etag: MD5_HEX, etagIsMd5: false },
  ];
  let index = 0;
  for (const sizeDelta of [0, 1]) {
    for (const offset of objectTimes) {
      for (const tag of etags) {
        for (const md5Base64 of [MD5_BASE64, undefined]) {
          const name = `case/${String(index++).padStart(3, '0')}`;
          all.push({
            name,
            source: {
              name,
              etag: '0x8DC1',
              size: 100,
              md5Base64,
              lastModified: new Date(BLOB_MS),
              blobType: 'BlockBlob',
              accessTier: 'Hot',
            },
            target: {
              key: KEY_ROOT + name,
              size: 100 + sizeDelta,
              etag: tag.etag,
              etagIsMd5: tag.etagIsMd5,
              lastModified: new Date(BLOB_MS + offset),
            },
          });
        }
      }
    }
  }
  for (const name of ['only azure/a b+c%2F.txt', 'only azure/é', 'only azure/\uE000', 'only azure/😀']) {
    all.push({
      name,
      source: { name, etag: '0x8DC2', size: 1, md5Base64: MD5_BASE64, lastModified: new Date(BLOB_MS), blobType: 'AppendBlob' },
    });
  }
  for (const name of ['only s3/x y+z~*!().txt', 'only s3/ü']) {
    all.push({ name, target: { key: KEY_ROOT + name, size: 1, etag: MD5_HEX, etagIsMd5: true, lastModified: new Date(BLOB_MS) } });
  }
  return all;
}

const literal = (value: string | undefined) => (value === undefined ? 'NULL' : `'${value.replaceAll("'", "''")}'`);

async function writeReports(directory: string, format: ReportFileFormat, rows: Case[]): Promise<{ azure: LocalReport; s3: LocalReport }> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const azureValues = rows
    .filter((row) => row.source)
    .map(({ name, source }) => {
      const blob = source as SourceBlob;
      return `(${literal(`${CONTAINER}/${name}`)}, ${blob.lastModified.getTime()}, ${blob.lastModified.getTime()}, ${literal(blob.etag)}, ${blob.size}, 'text/plain', ${literal(blob.md5Base64)}, ${literal(blob.blobType)}, ${literal(blob.accessTier)}, NULL, NULL)`;
    });
  const s3Values = rows
    .filter((row) => row.target)
    .map(({ target }) => {
      const object = target as TargetObject;
      return `('blobferry-backup', ${literal(object.key)}, ${object.size}, ${object.lastModified.getTime()}, ${literal(object.etag)}, 'STANDARD', ${object.etag.includes('-')}, ${literal(object.etagIsMd5 ? 'SSE-S3' : 'SSE-KMS')}, NULL)`;
    });
  const azurePath = join(directory, `azure.${format}`);
  const s3Path = join(directory, `s3.${format === 'csv' ? 'csv.gz' : 'parquet'}`);
  await writeAzureReportFile(
    connection,
    `SELECT * FROM (VALUES ${azureValues.join(', ')}) t(name, created_ms, last_modified_ms, etag, size, content_type, md5, blob_type, access_tier, metadata, tags)`,
    azurePath,
    format,
  );
  await writeS3ReportFile(
    connection,
    `SELECT * FROM (VALUES ${s3Values.join(', ')}) t(bucket, key, size, last_modified_ms, etag, storage_class, is_multipart, encryption_status, checksum_algorithm)`,
    s3Path,
    format,
  );
  connection.closeSync();
  instance.closeSync();
  const common = { format, startedAt: new Date(BLOB_MS + 3_600_000), includesNonCurrent: false };
  return {
    azure: {
      ...common,
      service: 'azure',
      manifest: 'azure-manifest',
      fields: ['Name', 'Content-Length', 'Last-Modified', 'ETag', 'Content-MD5'],
      files: [{ path: azurePath, source: 'azure file' }],
    },
    s3: {
      ...common,
      service: 's3',
      manifest: 's3-manifest',
      fields: [
        'Bucket',
        'Key',
        'Size',
        'LastModifiedDate',
        'ETag',
        'StorageClass',
        'IsMultipartUploaded',
        'ReplicationStatus',
        'EncryptionStatus',
        'ChecksumAlgorithm',
      ],
      files: [{ path: s3Path, source: 's3 file' }],
    },
  };
}

const JOINS = [
  { format: 'parquet', namesPerPass: undefined },
  { format: 'csv', namesPerPass: undefined },
  { format: 'parquet', namesPerPass: 10 },
] as const;

describe.each(JOINS)('the join of $format reports, $namesPerPass names a pass', ({ format, namesPerPass }) => {
  let directory: string;
  let differences: ReportDifference[];
  let inSync: number;
  let passes: number;
  const passesTold: string[] = [];
  const planted = cases();

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'inventory-rule-'));
    const reports = await writeReports(directory, format, planted);
    const joined = await joinInventoryReports({
      ...reports,
      scope: { container: CONTAINER, prefix: '', keyRoot: KEY_ROOT },
      spillDirectory: directory,
      memoryLimitMiB: 64,
      ...(namesPerPass ? { namesPerPass } : {}),
      onProgress: (progress) => passesTold.push(progress.phase === 'join' ? `${progress.passes}/${progress.of}` : progress.phase),
    });
    differences = [];
    for await (const difference of joined.differences()) differences.push(difference);
    ({ inSync, passes } = joined.counts);
    joined.close();
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('hands over exactly the pairs classifyFromListings does not call in sync, and counts the rest', () => {
    const expected = planted.filter((row) => classifyFromListings(row.source, row.target) !== 'inSync');
    expect(differences.map((difference) => difference.name).sort()).toEqual(expected.map((row) => row.name).sort());
    expect(inSync).toBe(planted.length - expected.length);
    expect(inSync).toBeGreaterThan(0);
    const names = Math.max(planted.filter((row) => row.source).length, planted.filter((row) => row.target).length);
    expect(passes).toBe(namesPerPass ? Math.ceil(names / namesPerPass) : 1);
    expect(passes).toBeGreaterThan(namesPerPass ? 1 : 0);
    expect(passesTold).toEqual(Array.from({ length: passes }, (_, index) => `${index + 1}/${passes}`));
  });

  it('gives each pair the evidence the reports hold, keys decoded, in UTF-8 order', () => {
    const byName = new Map(planted.map((row) => [row.name, row]));
    for (const difference of differences) {
      const row = byName.get(difference.name);
      expect(difference.source).toEqual(row?.source);
      expect(difference.target).toEqual(row?.target);
      expect(difference.verdict).toBe(classifyFromListings(row?.source, row?.target));
    }
    const names = differences.map((difference) => Buffer.from(difference.name));
    for (let index = 1; index < names.length; index++)
      expect(Buffer.compare(names[index - 1] as Buffer, names[index] as Buffer)).toBeLessThan(0);
  });
});

describe('a blob the Azure report lists twice', () => {
  let directory: string;
  afterAll(() => rm(directory, { recursive: true, force: true }));

  it('is handed over once', async () => {
    directory = await mkdtemp(join(tmpdir(), 'inventory-twice-'));
    const name = 'listed/twice.txt';
    const source: SourceBlob = {
      name,
      etag: '0x8DC3',
      size: 7,
      md5Base64: MD5_BASE64,
      lastModified: new Date(BLOB_MS),
      blobType: 'BlockBlob',
    };
    const target: TargetObject = { key: KEY_ROOT + name, size: 8, etag: MD5_HEX, etagIsMd5: true, lastModified: new Date(BLOB_MS) };
    const reports = await writeReports(directory, 'parquet', [
      { name, source, target },
      { name, source },
    ]);
    const joined = await joinInventoryReports({
      ...reports,
      scope: { container: CONTAINER, prefix: '', keyRoot: KEY_ROOT },
      spillDirectory: directory,
    });
    const names: string[] = [];
    for await (const difference of joined.differences()) names.push(difference.name);
    joined.close();
    expect(names).toEqual([name]);
  });
});
