// Reconcile from inventory reports: Azure Blob Inventory and S3 Inventory, read through their manifests with the
// SDKs (the caller's identities), downloaded, and joined in DuckDB under a memory limit. What the reports prove in
// sync stays in DuckDB; the rest goes to libs/reconcile's one classification as a ListingSource.
export { InventoryReportError } from './errors.js';
export type { InventoryProgress, LocalReport, ReportFormat, ReportService } from './local-report.js';
export { AZURE_REQUIRED_FIELDS, describeAzureManifest, type AzureReportDescription } from './azure/azure-manifest.js';
export { fetchAzureReport, type AzureReportLocation, type FetchAzureReportOptions } from './azure/azure-report.js';
export { S3_REQUIRED_FIELDS, describeS3Manifest, parquetColumnOf, type S3ReportDescription } from './s3/s3-manifest.js';
export { fetchS3Report, type FetchS3ReportOptions, type S3ReportLocation } from './s3/s3-report.js';
export { DEFAULT_MAX_REPORT_AGE_MS } from './report-age.js';
export { fetchInventoryReports, type FetchInventoryReportsOptions } from './fetch-reports.js';
export { DEFAULT_MEMORY_LIMIT_MIB } from './duckdb/session.js';
export {
  DEFAULT_COPY_LAG_MS,
  joinInventoryReports,
  type InventoryJoin,
  type JoinInventoryReportsOptions,
  type ReportDifference,
} from './join/inventory-join.js';
export { DEFAULT_NAMES_PER_PASS, type JoinCounts, type ReportPair } from './join/report-join.js';
export { inventoryListing, type InventoryChecks, type InventoryListing, type InventoryListingOptions } from './inventory-listing.js';
export {
  openInventoryListing,
  removeLeftoverWorkFolders,
  type InventorySummary,
  type OpenedInventoryListing,
  type OpenInventoryListingOptions,
} from './open-inventory-listing.js';
