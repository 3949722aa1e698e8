import type { ReconcileProgress } from '@blobferry/reconcile';
import type { CliIo } from '../cli-io.js';

export interface ProgressDisplay {
  update(progress: ReconcileProgress): void;
  stop(): void;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytesText(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}

export interface StatusLine {
  /** Draws the last text once more and ends the line. */
  stop(): void;
}

/**
 * A line of progress on stderr, `text()` as it is now: redrawn in place on a terminal, a line every few
 * seconds with `--progress` elsewhere, nothing otherwise (stdout stays the report either way).
 */
export function startStatusLine(io: CliIo, mode: 'auto' | 'always' | 'never', text: () => string): StatusLine {
  const terminal = io.stderr.isTTY === true;
  if (mode === 'never' || (mode === 'auto' && !terminal)) return { stop: () => undefined };
  const render = () => io.stderr.write(terminal ? `\r\u001b[K${text()}` : `${text()}\n`);
  const timer = setInterval(render, terminal ? 200 : 5000);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      render();
      if (terminal) io.stderr.write('\n');
    },
  };
}

/** Objects, bytes and rate of a verify or backfill run, as a status line. */
export function createProgressDisplay(io: CliIo, mode: 'auto' | 'always' | 'never'): ProgressDisplay {
  const started = performance.now();
  let latest: ReconcileProgress = { objects: 0, bytes: 0 };
  const line = startStatusLine(io, mode, () => {
    const seconds = Math.max((performance.now() - started) / 1000, 0.001);
    return (
      `${latest.objects.toLocaleString('en-US')} objects  ${bytesText(latest.bytes)}  ` +
      `${Math.round(latest.objects / seconds).toLocaleString('en-US')} objects/s  ${bytesText(latest.bytes / seconds)}/s`
    );
  });
  return {
    update: (progress) => void (latest = { ...progress }),
    stop: () => line.stop(),
  };
}
