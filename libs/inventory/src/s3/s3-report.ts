import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { InventoryReportError } from '../errors.js';
import type { LocalReport } from '../local-report.js';
import { checkReportAge, checksumMatches } from '../report-age.js';
import { downloadEach } from '../report-files.js';
import { describeS3Manifest } from './s3-manifest.js';

// S3 writes each report under `<destination-prefix>/<source-bucket>/<config-ID>/`: the data files in `data/`,
// then `<YYYY-MM-DDTHH-MMZ>/manifest.json` and `manifest.checksum` (whose arrival marks the report complete), and
// `hive/dt=.../symlink.txt`.

/** Where an inventory configuration's reports are: `prefix` is `<destination-prefix>/<source-bucket>/<config-ID>/`. */
export interface S3ReportLocation {
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** One report's manifest key; default: the newest. */
  manifest?: string;
}

export interface FetchS3ReportOptions {
  location: S3ReportLocation;
  /** The backup bucket: the report must be of it. */
  sourceBucket: string;
  directory: string;
  maxAgeMs: number;
  now: Date;
  /** After the manifest is read and after each file: files downloaded of the report's. */
  onFile?: (files: number, of: number) => void;
  abortSignal?: AbortSignal;
}

const REPORT_FOLDER = /\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}Z\/$/;

function isMissing(error: unknown): boolean {
  const { name, $metadata } = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return name === 'NoSuchKey' || $metadata?.httpStatusCode === 404;
}

async function readText(location: S3ReportLocation, key: string, abortSignal?: AbortSignal): Promise<string | undefined> {
  try {
    const object = await location.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: key }), { abortSignal });
    return await (object.Body?.transformToString('utf8') ?? '');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** The newest report's manifest key: report folders are named by their start time, so they sort by it. */
async function newestManifest(location: S3ReportLocation, abortSignal?: AbortSignal): Promise<string> {
  const folders: string[] = [];
  let continuationToken: string | undefined;
  do {
    const page = await location.s3.send(
      new ListObjectsV2Command({ Bucket: location.bucket, Prefix: location.prefix, Delimiter: '/', ContinuationToken: continuationToken }),
      { abortSignal },
    );
    for (const common of page.CommonPrefixes ?? []) if (common.Prefix && REPORT_FOLDER.test(common.Prefix)) folders.push(common.Prefix);
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (continuationToken);
  const newest = folders.sort().at(-1);
  if (newest === undefined) {
    throw new InventoryReportError(
      `s3://${location.bucket}/${location.prefix}<YYYY-MM-DDTHH-MMZ>/manifest.json`,
      'no report found (a report without its manifest cannot be read)',
      'Check the destination bucket and prefix (<destination-prefix>/<source-bucket>/<config-ID>/), and that a report has been delivered.',
    );
  }
  return `${newest}manifest.json`;
}

/** Streams `body` to `path`, returning the MD5 of what was written. */
async function saveWithMd5(body: Readable, path: string): Promise<string> {
  const md5 = createHash('md5');
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      md5.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(body, tap, createWriteStream(path));
  return md5.digest('hex');
}

/**
 * Reads one S3 Inventory report through its manifest with the caller's credentials, and downloads its files,
 * each checked against the MD5 the manifest states. Refuses a report that is still being delivered (no
 * manifest.checksum, or one that does not match), one without a field the join needs, one of another bucket,
 * and one older than `maxAgeMs`.
 */
export async function fetchS3Report(options: FetchS3ReportOptions): Promise<LocalReport> {
  const { location, abortSignal } = options;
  const manifestKey = location.manifest ?? (await newestManifest(location, abortSignal));
  const file = `s3://${location.bucket}/${manifestKey}`;
  const manifestText = await readText(location, manifestKey, abortSignal);
  if (manifestText === undefined) {
    throw new InventoryReportError(
      file,
      'does not exist (a report without its manifest cannot be read)',
      "Name an existing report's manifest.json.",
    );
  }
  const checksumKey = manifestKey.replace(/manifest\.json$/, 'manifest.checksum');
  const checksum = await readText(location, checksumKey, abortSignal);
  if (checksum === undefined) {
    throw new InventoryReportError(
      `s3://${location.bucket}/${checksumKey}`,
      'is missing: the report is still being delivered',
      "Wait for manifest.checksum to arrive (S3 writes it last), or name an earlier report's manifest.json.",
    );
  }
  if (!checksumMatches(checksum, createHash('md5').update(manifestText).digest())) {
    throw new InventoryReportError(file, 'does not match its manifest.checksum', 'Read the report again once its delivery is complete.');
  }
  const description = describeS3Manifest(manifestText, file, options.sourceBucket);
  checkReportAge(file, description.startedAt, options.maxAgeMs, options.now);
  const files = await downloadEach(
    description.files,
    async (listed, index) => {
      const source = `s3://${location.bucket}/${listed.key}`;
      const path = join(options.directory, `s3-${index}.${description.format === 'csv' ? 'csv.gz' : 'parquet'}`);
      let body: Readable;
      try {
        const object = await location.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: listed.key }), { abortSignal });
        body = object.Body as Readable;
      } catch (error) {
        if (!isMissing(error)) throw error;
        throw new InventoryReportError(source, 'is listed in the manifest but does not exist', 'Use a complete report.');
      }
      const md5 = await saveWithMd5(body, path);
      if (md5 !== listed.md5Hex.toLowerCase()) {
        throw new InventoryReportError(
          source,
          `has MD5 ${md5}, not the ${listed.md5Hex} its manifest states`,
          'Download the report again.',
        );
      }
      return { path, source };
    },
    options.onFile,
  );
  return {
    service: 's3',
    manifest: file,
    format: description.format,
    fields: description.fields,
    startedAt: description.startedAt,
    includesNonCurrent: description.includesNonCurrent,
    files,
  };
}
