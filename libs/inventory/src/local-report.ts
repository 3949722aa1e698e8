/** Which service wrote a report. */
export type ReportService = 'azure' | 's3';

/** Where a long inventory read stands: each side's report files downloaded, then the join's passes made. */
export type InventoryProgress =
  { phase: 'download'; service: ReportService; files: number; of: number } | { phase: 'join'; passes: number; of: number };
export type ReportFormat = 'csv' | 'parquet';

/** An inventory report read through its manifest and downloaded to local disk, ready for the join. */
export interface LocalReport {
  service: ReportService;
  /** The manifest it was read through: `<container>/<blob>` (Azure) or `s3://<bucket>/<key>`. */
  manifest: string;
  format: ReportFormat;
  /** The report's fields, in the manifest's order and spelling (S3's CSV has no header row: these name its columns). */
  fields: string[];
  /** When the service began to scan: a change after this may be missing from the report. */
  startedAt: Date;
  /** Whether the report lists versions, snapshots or deleted blobs beside the current ones (filtered out by the join). */
  includesNonCurrent: boolean;
  /** The downloaded files, each with where it came from (for messages). */
  files: Array<{ path: string; source: string }>;
}
