import { RESTORE_KINDS, type RestoreItem, type RestorePoint, type RestoreSummary } from '@blobferry/restore';
import type { CliIo } from '../cli-io.js';
import { bytesText } from './progress.js';

/** What the plan calls each kind, in the table. */
const KIND_LABELS: Record<(typeof RESTORE_KINDS)[number], string> = {
  restore: 'restore',
  identical: 'already identical',
  createdAfter: 'skipped: newer',
  deletedAtT: 'deleted at T',
  archived: 'archived',
  extra: 'extra at target',
};

/** Items worth a line in the table: anything not simply restored or skipped by plan, or restored without some of its properties. */
function needsALine(item: RestoreItem): boolean {
  return (
    !['restored', 'skipped', 'planned'].includes(item.outcome) ||
    item.kind === 'archived' ||
    item.check === 'unverifiable' ||
    item.missingProperties !== undefined
  );
}

export interface RestoreReporter {
  item(item: RestoreItem): void;
  finish(summary: RestoreSummary): void;
}

export function createRestoreReporter(format: 'table' | 'json', io: CliIo): RestoreReporter {
  if (format === 'json') {
    const items: RestoreItem[] = [];
    return {
      item: (item) => void items.push(item),
      finish: (summary) => void io.stdout.write(`${JSON.stringify({ summary, items }, null, 2)}\n`),
    };
  }
  return {
    item(item) {
      if (!needsALine(item)) return;
      const what = item.check === 'unverifiable' ? 'unverifiable' : item.missingProperties ? 'incomplete' : item.outcome;
      io.stdout.write(
        `${what.padEnd(17)}  ${item.kind.padEnd(12)}  ${JSON.stringify(item.name).slice(1, -1)}${item.detail ? `  ${item.detail}` : ''}\n`,
      );
    },
    finish(summary) {
      for (const warning of summary.warnings) io.stdout.write(`warning: ${warning}\n`);
      io.stdout.write(
        `target  ${summary.target}${summary.asOf ? `  as of ${summary.asOf}` : ''}${summary.dryRun ? '  (dry run: nothing written)' : ''}\n`,
      );
      for (const kind of RESTORE_KINDS) {
        const totals = summary.plan[kind];
        io.stdout.write(
          `${KIND_LABELS[kind].padEnd(17)}  ${String(totals.objects).padStart(9)}  ${bytesText(totals.bytes).padStart(11)}\n`,
        );
      }
      const counts: [string, number][] = [
        ['restored', summary.restored],
        ['verified', summary.verified],
        ['unverifiable', summary.unverifiable],
        ['conflicts', summary.conflicts],
        ['checksum mismatch', summary.checksumMismatches],
        ['failed', summary.failed],
        ['incomplete', summary.incomplete],
        ['extras removed', summary.extrasRemoved],
        ['remaining', summary.remaining],
      ];
      for (const [label, count] of counts) io.stdout.write(`${label.padEnd(17)}  ${String(count).padStart(9)}\n`);
      io.stdout.write(
        `${'bytes'.padEnd(17)}  ${bytesText(summary.bytesServerSide)} server-side, ${bytesText(summary.bytesStreamed)} streamed here, ${(summary.durationMs / 1000).toFixed(1)} s\n`,
      );
    },
  };
}

/** `--list-versions`: one blob's restore points, newest first. */
export function writeRestorePoints(io: CliIo, format: 'table' | 'json', name: string, points: RestorePoint[]): void {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ name, points }, null, 2)}\n`);
    return;
  }
  io.stdout.write(`${'SOURCE TIME'.padEnd(24)}  ${'BACKED UP'.padEnd(24)}  ${'SIZE'.padStart(12)}  VERSION\n`);
  for (const point of points) {
    const sourceTime = point.kind === 'deleteMarker' ? '(deleted)' : (point.sourceLastModified ?? '(not recorded)');
    const size = point.kind === 'deleteMarker' ? '-' : String(point.size);
    io.stdout.write(
      `${sourceTime.padEnd(24)}  ${point.s3LastModified.padEnd(24)}  ${size.padStart(12)}  ${point.versionId}${point.isLatest ? '  (latest)' : ''}${point.storageClass && point.storageClass !== 'STANDARD' ? `  ${point.storageClass}` : ''}\n`,
    );
  }
}
