import { z } from 'zod';
import { InventoryReportError } from '../errors.js';
import type { ReportFormat } from '../local-report.js';

// S3 Inventory's `manifest.json`, as AWS documents it ("Locating your inventory list", Inventory manifest):
// `creationTimestamp` is milliseconds since the epoch as a string (the start of the scan), `fileSchema` lists
// the CSV columns by name ("Bucket, Key, ...") or is the Parquet message ("message s3.inventory { required
// binary key (UTF8); ... }"), and `files` are keys in the destination bucket with each file's MD5.

const manifestSchema = z.looseObject({
  sourceBucket: z.string(),
  destinationBucket: z.string(),
  version: z.string().optional(),
  creationTimestamp: z.string().regex(/^\d+$/),
  fileFormat: z.string(),
  fileSchema: z.string(),
  files: z.array(z.looseObject({ key: z.string(), size: z.number(), MD5checksum: z.string() })),
});

/** The fields the join reads, in the CSV spelling; the Parquet columns are their snake_case forms. */
export const S3_REQUIRED_FIELDS = ['Key', 'Size', 'LastModifiedDate', 'ETag', 'EncryptionStatus'] as const;

/** CSV field name -> Parquet column (as AWS's Parquet schema names it): LastModifiedDate -> last_modified_date. */
export function parquetColumnOf(field: string): string {
  if (field === 'ETag') return 'e_tag';
  return field.replace(/(?<=[a-z])([A-Z])/g, '_$1').toLowerCase();
}

export interface S3ReportDescription {
  format: ReportFormat;
  /** Column names in file order: CSV field names, or the Parquet columns. */
  fields: string[];
  startedAt: Date;
  includesNonCurrent: boolean;
  files: Array<{ key: string; size: number; md5Hex: string }>;
}

function fieldsOf(format: ReportFormat, fileSchema: string): string[] {
  if (format === 'csv')
    return fileSchema
      .split(',')
      .map((field) => field.trim())
      .filter(Boolean);
  return [...fileSchema.matchAll(/(?:required|optional|repeated)\s+\w+\s+(\w+)/g)].map((match) => match[1] ?? '');
}

/**
 * Parses and checks a manifest: a report of `bucket` in CSV or Parquet (ORC is not read) with every field the
 * join needs. `file` names the manifest in errors.
 */
export function describeS3Manifest(text: string, file: string, bucket: string): S3ReportDescription {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InventoryReportError(file, `is not JSON (${(error as Error).message})`, "Point at the report's manifest.json.");
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InventoryReportError(
      file,
      `is not an S3 Inventory manifest (${issue?.path.join('.') || 'root'}: ${issue?.message ?? 'invalid'})`,
      "Point at the report's manifest.json.",
    );
  }
  const manifest = parsed.data;
  if (manifest.sourceBucket !== bucket) {
    throw new InventoryReportError(
      file,
      `is a report of bucket ${JSON.stringify(manifest.sourceBucket)}, not of ${JSON.stringify(bucket)}`,
      'Point at the inventory configured on the backup bucket.',
    );
  }
  const fileFormat = manifest.fileFormat.toLowerCase();
  if (fileFormat !== 'csv' && fileFormat !== 'parquet') {
    throw new InventoryReportError(
      file,
      `is in ${manifest.fileFormat}, which blobferry does not read`,
      'Configure the inventory with OutputSchemaVersion V_1 and Format Parquet (or CSV).',
    );
  }
  const format: ReportFormat = fileFormat;
  const fields = fieldsOf(format, manifest.fileSchema);
  const named = (field: string) => (format === 'csv' ? field : parquetColumnOf(field));
  const missing = S3_REQUIRED_FIELDS.filter((field) => !fields.includes(named(field)));
  if (missing.length > 0) {
    throw new InventoryReportError(
      file,
      `lacks the field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} the join needs`,
      `Add ${missing.join(', ')} to the inventory configuration's OptionalFields (the next report has them).`,
    );
  }
  return {
    format,
    fields,
    startedAt: new Date(Number(manifest.creationTimestamp)),
    includesNonCurrent: fields.includes(named('IsLatest')),
    files: manifest.files.map(({ key, size, MD5checksum }) => ({ key, size, md5Hex: MD5checksum })),
  };
}
