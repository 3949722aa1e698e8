/**
 * A report that cannot be trusted: no manifest, not complete yet, a schema without a field the join needs,
 * too old, or not the report asked for. Nothing is classified, and so nothing repaired, from it.
 */
export class InventoryReportError extends Error {
  override readonly name = 'InventoryReportError';
  constructor(
    /** The file at fault: a blob name or an s3:// URL, or a local path. */
    readonly file: string,
    readonly problem: string,
    /** What to do about it. */
    readonly fix: string,
  ) {
    super(`${file}: ${problem}. ${fix}`);
  }
}
