import type { ScenarioResult, ToolFigures } from './scenario.js';

// The human table: one row per scenario, then one line per target. Same figures as the JSON document.

export interface BenchReport {
  machine: Record<string, unknown>;
  profile: string;
  runs: number;
  startedAt: string;
  durationS: number;
  scenarios: ScenarioResult[];
  /** Scenarios that failed (their figures are absent). */
  failures?: Array<{ name: string; error: string }>;
}

/** Objects/s, MiB/s, or both (a set of mixed sizes is measured in both). */
function rateOf(figures: ToolFigures): string {
  const rates = [
    ...(typeof figures.objectsPerS === 'number' ? [`${figures.objectsPerS} obj/s`] : []),
    ...(typeof figures.mbPerS === 'number' ? [`${figures.mbPerS} MiB/s`] : []),
  ];
  return rates.length > 0 ? rates.join(', ') : '-';
}

function rssOf(figures: ToolFigures): string {
  return typeof figures.peakRssMiB === 'number' ? `${figures.peakRssMiB} MiB` : '-';
}

/** `name=value` pairs, nested figures (such as the comparison size) in parentheses; the path text left out. */
function figuresLine(figures: ToolFigures): string {
  return Object.entries(figures)
    .filter(([name]) => name !== 'path')
    .map(([name, value]) =>
      typeof value === 'object' && value !== null ? `${name}=(${figuresLine(value as ToolFigures)})` : `${name}=${String(value)}`,
    )
    .join(', ');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** A Markdown table (readable in a terminal and pasteable into the README). */
export function renderReport(report: BenchReport): string {
  const header = ['scenario', 'blobferry', 'rclone', 'limit', 'vs rclone', 'of limit', 'RSS blobferry', 'RSS rclone'];
  const rows = report.scenarios.map((scenario) => [
    scenario.name,
    rateOf(scenario.blobferry),
    rateOf(scenario.rclone),
    `${rateOf(scenario.limit)} (${String(scenario.limit.boundBy ?? '?')})`,
    `${scenario.ratioVsRclone}x`,
    String(scenario.fractionOfLimit),
    rssOf(scenario.blobferry),
    rssOf(scenario.rclone),
  ]);
  const targets = report.scenarios.flatMap((scenario) =>
    scenario.targets.map((t) => `- ${scenario.name}: ${t.target}: ${t.met ? 'met' : 'MISSED'} (${t.actual})`),
  );
  const details = report.scenarios.flatMap((scenario) => [
    `- ${scenario.name}: ${scenario.description}`,
    `  - blobferry: ${figuresLine(scenario.blobferry)}`,
    `  - rclone: ${figuresLine(scenario.rclone)}`,
    `  - limit: ${figuresLine(scenario.limit)}`,
    ...scenario.notes.map((note) => `  - ${note}`),
  ]);
  const machine = report.machine;
  return [
    `Machine: ${String(machine.cpus)} x ${String(machine.cpuModel)}, ${String(machine.memoryGiB)} GiB, ${String(machine.os)}; ` +
      `Node ${String(machine.node)}; rclone ${String(machine.rclone)}; S3: ${String(machine.s3Endpoint)}; Azure: ${String(machine.azureEndpoint)}; ` +
      `load average at start ${JSON.stringify(machine.loadAverageAtStart)}, at end ${JSON.stringify(machine.loadAverageAtEnd)}`,
    `Profile ${report.profile}, median of ${report.runs} run(s); peak RSS is the largest of the runs; MiB/s = 2^20 bytes/s.`,
    '',
    table(header, rows),
    '',
    'Scenarios:',
    ...details,
    '',
    'Targets:',
    ...targets,
    ...(report.failures?.length
      ? ['', 'FAILED scenarios:', ...report.failures.map((f) => `- ${f.name}: ${f.error.split('\n')[0] ?? ''}`)]
      : []),
  ].join('\n');
}
