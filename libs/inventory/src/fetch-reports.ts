import { fetchAzureReport, type AzureReportLocation } from './azure/azure-report.js';
import type { InventoryProgress, LocalReport } from './local-report.js';
import { DEFAULT_MAX_REPORT_AGE_MS } from './report-age.js';
import { fetchS3Report, type S3ReportLocation } from './s3/s3-report.js';

export interface FetchInventoryReportsOptions {
  azure: AzureReportLocation;
  s3: S3ReportLocation;
  /** The container and blob name prefix reconciled (the Azure report must cover them). */
  covering: { container: string; prefix: string };
  /** The backup bucket (the S3 report must be of it). */
  backupBucket: string;
  /** Local folder the report files are downloaded to. */
  directory: string;
  /** Oldest report accepted (default 48 h). */
  maxAgeMs?: number;
  now?: Date;
  /** Each side's files downloaded, as they arrive. */
  onProgress?: (progress: InventoryProgress) => void;
  abortSignal?: AbortSignal;
}

/** Both reports, read through their manifests and downloaded (each checked: complete, whole, recent enough). */
export async function fetchInventoryReports(options: FetchInventoryReportsOptions): Promise<{ azure: LocalReport; s3: LocalReport }> {
  const common = {
    directory: options.directory,
    maxAgeMs: options.maxAgeMs ?? DEFAULT_MAX_REPORT_AGE_MS,
    now: options.now ?? new Date(),
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  };
  const onFile = (service: 'azure' | 's3') => (files: number, of: number) =>
    options.onProgress?.({ phase: 'download', service, files, of });
  const [azure, s3] = await Promise.all([
    fetchAzureReport({ location: options.azure, covering: options.covering, onFile: onFile('azure'), ...common }),
    fetchS3Report({ location: options.s3, sourceBucket: options.backupBucket, onFile: onFile('s3'), ...common }),
  ]);
  return { azure, s3 };
}
