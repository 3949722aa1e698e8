import type { Difference, ReconcileSummary } from '@blobferry/reconcile';
import type { CliIo } from '../cli-io.js';
import { differenceJson, summaryJson, type OutputFormat, type RunTargets } from './report.js';

/** Receives differences as they are found and the summary at the end, and writes them in one format. */
export interface Reporter {
  difference(difference: Difference): void;
  finish(summary: ReconcileSummary): void;
}

function sizeText(size: number | undefined): string {
  return size === undefined ? '-' : String(size);
}

function repairText(difference: Difference): string {
  const repair = difference.repair;
  if (!repair) return '';
  if (repair.status === 'planned') return `would ${repair.action}`;
  if (repair.status === 'done') {
    const done = { copy: 'copied', enqueue: 'enqueued', delete: 'deleted', none: '' }[repair.action];
    return repair.detail ? `${done}: ${repair.detail}` : done;
  }
  return `${repair.status}${repair.detail ? `: ${repair.detail}` : ''}`;
}

// The longest label either table prints: a kind in the differences, a count label in the summary.
const KIND_WIDTH = 'checksum mismatch'.length;

function tableReporter(io: CliIo, targets: RunTargets, repairing: boolean): Reporter {
  let headerWritten = false;
  return {
    difference(difference) {
      if (!headerWritten) {
        const header = ['KIND'.padEnd(KIND_WIDTH), 'SOURCE SIZE'.padStart(12), 'TARGET SIZE'.padStart(12), 'KEY'];
        io.stdout.write(`${[...header, ...(repairing ? ['REPAIR'] : [])].join('  ')}\n`);
        headerWritten = true;
      }
      const columns = [
        difference.kind.padEnd(KIND_WIDTH),
        sizeText(difference.source?.size).padStart(12),
        sizeText(difference.target?.size).padStart(12),
        JSON.stringify(difference.key).slice(1, -1),
        ...(repairing ? [repairText(difference)] : []),
        ...(difference.properties ? [`properties: ${difference.properties.join(', ')}`] : []),
        ...(difference.error ? [difference.error.reason] : []),
      ];
      io.stdout.write(`${columns.join('  ')}\n`);
    },
    finish(summary) {
      if (headerWritten) io.stdout.write('\n');
      io.stdout.write(`source  ${targets.source}\ntarget  ${targets.target}\n`);
      const counts: [string, number][] = [
        ['in sync', summary.inSync],
        ['missing', summary.missing],
        ['extra', summary.extra],
        ['size mismatch', summary.sizeMismatch],
        ['checksum mismatch', summary.checksumMismatch],
        ['stale', summary.stale],
        ['properties differ', summary.propertiesDiffer],
        ['unverifiable', summary.unverifiable],
        ['error', summary.error],
        ...(repairing
          ? ([
              ['repaired', summary.repaired],
              ['enqueued', summary.enqueued],
              ['already queued', summary.alreadyQueued],
            ] as [string, number][])
          : []),
        ['remaining', summary.remaining],
        // --deep: content checked against the checksum S3 stores (only the blob read), or by reading both sides.
        ...(summary.deepChecks
          ? ([
              ['deep: S3 checksum', summary.deepChecks.storedChecksum],
              ['deep: both sides', summary.deepChecks.bothSides],
            ] as [string, number][])
          : []),
      ];
      for (const [label, count] of counts) io.stdout.write(`${label.padEnd(KIND_WIDTH)}  ${String(count).padStart(12)}\n`);
      io.stdout.write(`${'duration'.padEnd(KIND_WIDTH)}  ${`${(summary.durationMs / 1000).toFixed(1)} s`.padStart(12)}\n`);
    },
  };
}

function jsonReporter(io: CliIo, targets: RunTargets): Reporter {
  // One document at the end: differences are few next to objects, and a script wants one parse.
  const differences: ReturnType<typeof differenceJson>[] = [];
  return {
    difference: (difference) => void differences.push(differenceJson(difference)),
    finish: (summary) => void io.stdout.write(`${JSON.stringify({ summary: summaryJson(summary, targets), differences }, null, 2)}\n`),
  };
}

function ndjsonReporter(io: CliIo, targets: RunTargets): Reporter {
  return {
    difference: (difference) => void io.stdout.write(`${JSON.stringify(differenceJson(difference))}\n`),
    finish: (summary) => void io.stdout.write(`${JSON.stringify({ summary: summaryJson(summary, targets) })}\n`),
  };
}

export function createReporter(format: OutputFormat, io: CliIo, targets: RunTargets, repairing: boolean): Reporter {
  switch (format) {
    case 'json':
      return jsonReporter(io, targets);
    case 'ndjson':
      return ndjsonReporter(io, targets);
    case 'table':
      return tableReporter(io, targets, repairing);
  }
}
