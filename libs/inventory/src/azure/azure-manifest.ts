import { z } from 'zod';
import { InventoryReportError } from '../errors.js';
import type { ReportFormat } from '../local-report.js';

// Azure Blob Inventory's `<ruleName>-manifest.json`, as Microsoft documents it ("Azure Storage blob inventory",
// Inventory files): written when the run begins with `status` Pending, completed with Succeeded (or Failed);
// `files` are blob names in the destination container; times are ISO 8601 UTC.

const manifestSchema = z.looseObject({
  destinationContainer: z.string(),
  endpoint: z.string(),
  files: z.array(z.looseObject({ blob: z.string(), size: z.number() })),
  inventoryCompletionTime: z.string().optional(),
  inventoryStartTime: z.string(),
  ruleDefinition: z.looseObject({
    filters: z
      .looseObject({
        blobTypes: z.array(z.string()).optional(),
        includeBlobVersions: z.boolean().optional(),
        includeSnapshots: z.boolean().optional(),
        includeDeleted: z.boolean().optional(),
        prefixMatch: z.array(z.string()).optional(),
        excludePrefix: z.array(z.string()).optional(),
      })
      .optional(),
    format: z.string(),
    objectType: z.string(),
    schedule: z.string().optional(),
    schemaFields: z.array(z.string()),
  }),
  ruleName: z.string(),
  status: z.string(),
  summary: z.looseObject({ objectCount: z.number(), totalObjectSize: z.number() }).optional(),
  version: z.string().optional(),
});

export type AzureManifest = z.infer<typeof manifestSchema>;

/**
 * The fields the join reads from an Azure report: without one of them it cannot settle a pair, or (BlobType,
 * AccessTier) the HEADs it leaves to reconcile would find every object's recorded type and tier different.
 */
export const AZURE_REQUIRED_FIELDS = ['Name', 'Content-Length', 'Last-Modified', 'ETag', 'Content-MD5', 'BlobType', 'AccessTier'] as const;

/** What the join needs to know of an Azure report, checked. */
export interface AzureReportDescription {
  format: ReportFormat;
  fields: string[];
  startedAt: Date;
  includesNonCurrent: boolean;
  files: Array<{ blob: string; size: number }>;
}

function sameField(a: string, b: string): boolean {
  // Microsoft spells the field ETag in its table and Etag elsewhere; the service matches field names case-insensitively.
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Parses and checks a manifest: complete (`status` Succeeded), a blob report in CSV or Parquet, with every field
 * the join needs, covering the container (and prefix) being reconciled. `file` names the manifest in errors.
 */
export function describeAzureManifest(text: string, file: string, covering: { container: string; prefix: string }): AzureReportDescription {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InventoryReportError(file, `is not JSON (${(error as Error).message})`, "Point at the rule's <ruleName>-manifest.json.");
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InventoryReportError(
      file,
      `is not an Azure Blob Inventory manifest (${issue?.path.join('.') || 'root'}: ${issue?.message ?? 'invalid'})`,
      "Point at the rule's <ruleName>-manifest.json.",
    );
  }
  const manifest = parsed.data;
  if (manifest.status !== 'Succeeded') {
    throw new InventoryReportError(
      file,
      `reports status ${JSON.stringify(manifest.status)}, not Succeeded`,
      manifest.status === 'Pending'
        ? 'The run is still writing the report: wait for its BlobInventoryPolicyCompleted event (or the <ruleName>-manifest.checksum blob).'
        : "Use a report whose run succeeded; check the run's policyRunStatusMessage in its BlobInventoryPolicyCompleted event.",
    );
  }
  const definition = manifest.ruleDefinition;
  if (definition.objectType !== 'blob') {
    throw new InventoryReportError(file, `is a ${definition.objectType} report`, 'Use a rule with objectType "blob".');
  }
  const format = definition.format.toLowerCase();
  if (format !== 'csv' && format !== 'parquet') {
    throw new InventoryReportError(file, `has format ${JSON.stringify(definition.format)}`, 'Use a rule with format "parquet" (or "csv").');
  }
  const missing = AZURE_REQUIRED_FIELDS.filter((field) => !definition.schemaFields.some((present) => sameField(present, field)));
  if (missing.length > 0) {
    throw new InventoryReportError(
      file,
      `lacks the field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} the join needs`,
      `Add ${missing.join(', ')} to the rule's schemaFields (the next run writes them).`,
    );
  }
  const filters = definition.filters ?? {};
  const wanted = `${covering.container}/${covering.prefix}`;
  const covered = !filters.prefixMatch?.length || filters.prefixMatch.some((prefix) => wanted.startsWith(prefix));
  const excluded = filters.excludePrefix?.some((prefix) => prefix !== '' && (wanted.startsWith(prefix) || prefix.startsWith(wanted)));
  if (!covered || excluded) {
    throw new InventoryReportError(
      file,
      `does not cover every blob under ${JSON.stringify(wanted)} (prefixMatch ${JSON.stringify(filters.prefixMatch ?? [])}, excludePrefix ${JSON.stringify(filters.excludePrefix ?? [])})`,
      'Use a rule whose prefixMatch includes the container and whose excludePrefix leaves it whole.',
    );
  }
  const blobTypes = filters.blobTypes ?? [];
  const lackingTypes = ['blockBlob', 'appendBlob'].filter((type) => !blobTypes.includes(type));
  if (lackingTypes.length > 0) {
    throw new InventoryReportError(
      file,
      `leaves out ${lackingTypes.join(' and ')}s (blobTypes ${JSON.stringify(blobTypes)}), whose backups would look extra`,
      `Add ${lackingTypes.join(' and ')} (and pageBlob, on an account without a hierarchical namespace) to the rule's blobTypes.`,
    );
  }
  const startedAt = new Date(manifest.inventoryStartTime);
  if (Number.isNaN(startedAt.getTime())) {
    throw new InventoryReportError(
      file,
      `has an unreadable inventoryStartTime ${JSON.stringify(manifest.inventoryStartTime)}`,
      'Use a manifest the service wrote.',
    );
  }
  return {
    format,
    fields: definition.schemaFields,
    startedAt,
    includesNonCurrent: Boolean(filters.includeBlobVersions || filters.includeSnapshots || filters.includeDeleted),
    files: manifest.files.map(({ blob, size }) => ({ blob, size })),
  };
}
