import type { LocalReport } from './local-report.js';

/**
 * A report's files, downloaded one at a time in the manifest's order by `download`; `onFile` is told the count
 * once the manifest is read and after each file.
 */
export async function downloadEach<Listed>(
  listed: readonly Listed[],
  download: (entry: Listed, index: number) => Promise<LocalReport['files'][number]>,
  onFile: ((files: number, of: number) => void) | undefined,
): Promise<LocalReport['files']> {
  const files: LocalReport['files'] = [];
  onFile?.(0, listed.length);
  for (const [index, entry] of listed.entries()) {
    files.push(await download(entry, index));
    onFile?.(files.length, listed.length);
  }
  return files;
}
