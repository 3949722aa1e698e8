import type { DeadLetterReplay, PoisonQueueReplay } from '@blobferry/reconcile';
import type { CliIo } from '../cli-io.js';

export interface ReplayReport {
  dryRun: boolean;
  /** Asked for everything, but no dead-letter container was named. */
  deadLettersUnnamed: boolean;
  /** Undefined when not asked for (`--from dead-letters`). */
  poison: PoisonQueueReplay | undefined;
  /** Undefined when not asked for or not configured. */
  deadLetters: DeadLetterReplay | undefined;
  durationMs: number;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/** The report on stdout: one JSON document with --json, otherwise a few lines a person reads. */
export function writeReplayReport(io: CliIo, report: ReplayReport, format: 'human' | 'json'): void {
  if (format === 'json') {
    io.stdout.write(`${JSON.stringify({ ...report, poison: report.poison ?? null, deadLetters: report.deadLetters ?? null })}\n`);
    return;
  }
  const verb = report.dryRun ? 'would be replayed' : 'replayed';
  const { poison, deadLetters } = report;
  if (poison) io.stdout.write(`poison queue ${poison.queue}: ${plural(poison.messages, 'message')} ${verb}\n`);
  if (deadLetters) {
    const deleted = report.dryRun ? '' : `, ${plural(deadLetters.deletedBlobs, 'blob')} deleted`;
    io.stdout.write(
      `dead letters ${deadLetters.container.replace(/\/$/, '')}/${deadLetters.prefix}: ${plural(deadLetters.blobs, 'blob')}, ` +
        `${plural(deadLetters.events, 'event')} ${verb}${deleted}\n`,
    );
    for (const skipped of deadLetters.skipped) {
      const where = skipped.index === undefined ? skipped.path : `${skipped.path} event ${skipped.index}`;
      io.stdout.write(`skipped ${where}: ${skipped.reason} (kept)\n`);
    }
  } else if (report.deadLettersUnnamed) {
    io.stdout.write('dead letters: not read (name them with --dead-letter-container-url and --subscription-name)\n');
  }
}
