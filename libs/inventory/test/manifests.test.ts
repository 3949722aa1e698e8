// The manifest readers against the services' own documented examples (test/fixtures/README.md).
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { describeAzureManifest, describeS3Manifest, InventoryReportError } from '../src/index.js';

const fixture = (path: string) => readFile(new URL(`./fixtures/${path}`, import.meta.url), 'utf8');

function refusal(run: () => unknown): InventoryReportError {
  try {
    run();
  } catch (error) {
    if (error instanceof InventoryReportError) return error;
    throw error;
  }
  throw new Error('expected an InventoryReportError');
}

const sampleCovering = { container: 'penner-test-container-100003', prefix: '' };

describe("Azure Blob Inventory's manifest", () => {
  it("refuses Microsoft's sample, whose rule lacks ETag and Content-MD5, naming the file and the fix", async () => {
    const text = await fixture('azure/sample-manifest.json');
    const error = refusal(() => describeAzureManifest(text, 'inventory/2021/05/26/13-25-36/Rule_1/Rule_1-manifest.json', sampleCovering));
    expect(error.file).toBe('inventory/2021/05/26/13-25-36/Rule_1/Rule_1-manifest.json');
    expect(error.problem).toContain('ETag, Content-MD5');
    expect(error.fix).toContain("rule's schemaFields");
  });

  it("reads Microsoft's sample once its rule has the fields and blob types the join needs", async () => {
    const sample = JSON.parse(await fixture('azure/sample-manifest.json')) as {
      ruleDefinition: { schemaFields: string[]; filters: { blobTypes: string[] } };
    };
    sample.ruleDefinition.schemaFields.push('Etag', 'Content-MD5');
    sample.ruleDefinition.filters.blobTypes.push('appendBlob');
    const description = describeAzureManifest(JSON.stringify(sample), 'manifest', sampleCovering);
    expect(description).toEqual({
      format: 'csv',
      fields: [
        'Name',
        'Creation-Time',
        'BlobType',
        'Content-Length',
        'LastAccessTime',
        'Last-Modified',
        'Metadata',
        'AccessTier',
        'Etag',
        'Content-MD5',
      ],
      startedAt: new Date('2021-05-26T13:25:36Z'),
      includesNonCurrent: false,
      files: [{ blob: '2021/05/26/13-25-36/Rule_1/Rule_1.csv', size: 12710092 }],
    });
    // The sample's prefixMatch covers one container only; another is not in its report.
    expect(refusal(() => describeAzureManifest(JSON.stringify(sample), 'manifest', { container: 'photos', prefix: '' })).problem).toContain(
      'does not cover',
    );
  });

  it('refuses a run still being written, and one that leaves append blobs out', async () => {
    const sample = JSON.parse(await fixture('azure/sample-manifest.json')) as {
      status: string;
      ruleDefinition: { schemaFields: string[] };
    };
    sample.ruleDefinition.schemaFields.push('ETag', 'Content-MD5');
    expect(refusal(() => describeAzureManifest(JSON.stringify({ ...sample, status: 'Pending' }), 'm', sampleCovering)).fix).toContain(
      'BlobInventoryPolicyCompleted',
    );
    expect(refusal(() => describeAzureManifest(JSON.stringify(sample), 'm', sampleCovering)).problem).toContain('appendBlob');
  });
});

describe("S3 Inventory's manifest", () => {
  it("reads AWS's CSV example: the columns in file order, for a file without a header row", async () => {
    const description = describeS3Manifest(await fixture('aws/csv-manifest.json'), 's3://dest/manifest.json', 'example-source-bucket');
    expect(description.format).toBe('csv');
    expect(description.fields.slice(0, 8)).toEqual([
      'Bucket',
      'Key',
      'VersionId',
      'IsLatest',
      'IsDeleteMarker',
      'Size',
      'LastModifiedDate',
      'ETag',
    ]);
    expect(description.fields).toContain('EncryptionStatus');
    expect(description.includesNonCurrent).toBe(true);
    expect(description.startedAt).toEqual(new Date(1514944800000));
    expect(description.files).toEqual([
      {
        key: 'Inventory/example-source-bucket/2016-11-06T21-32Z/files/939c6d46-85a9-4ba8-87bd-9db705a579ce.csv.gz',
        size: 2147483647,
        md5Hex: 'f11166069f1990abeb9c97ace9cdfabc',
      },
    ]);
  });

  it("reads AWS's Parquet example: the columns from its message schema", async () => {
    const description = describeS3Manifest(await fixture('aws/parquet-manifest.json'), 's3://dest/manifest.json', 'example-source-bucket');
    expect(description.format).toBe('parquet');
    expect(description.fields).toEqual([
      'bucket',
      'key',
      'version_id',
      'is_latest',
      'is_delete_marker',
      'size',
      'last_modified_date',
      'e_tag',
      'storage_class',
      'is_multipart_uploaded',
      'replication_status',
      'encryption_status',
      'object_lock_retain_until_date',
      'object_lock_mode',
      'object_lock_legal_hold_status',
      'intelligent_tiering_access_tier',
      'bucket_key_status',
      'checksum_algorithm',
    ]);
  });

  it("refuses AWS's ORC example, another bucket's report, and a schema without EncryptionStatus", async () => {
    const orc = await fixture('aws/orc-manifest.json');
    expect(refusal(() => describeS3Manifest(orc, 's3://dest/orc/manifest.json', 'example-source-bucket'))).toMatchObject({
      file: 's3://dest/orc/manifest.json',
      fix: expect.stringContaining('Format Parquet'),
    });
    const csv = await fixture('aws/csv-manifest.json');
    expect(refusal(() => describeS3Manifest(csv, 'm', 'blobferry-backup')).problem).toContain('"example-source-bucket"');
    const withoutEncryption = csv.replace(', EncryptionStatus', '');
    expect(refusal(() => describeS3Manifest(withoutEncryption, 'm', 'example-source-bucket')).problem).toContain('EncryptionStatus');
  });
});
