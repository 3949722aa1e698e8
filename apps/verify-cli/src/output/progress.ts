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

/**
 * Objects, bytes and rate on stderr: redrawn in place on a terminal, a line every few seconds with
 * `--progress` elsewhere, nothing otherwise (stdout stays the report either way).
 */
export function createProgressDisplay(io: CliIo, mode: 'auto' | 'always' | 'never'): ProgressDisplay {
  const terminal = io.stderr.isTTY === true;
  if (mode === 'never' || (mode === 'auto' && !terminal)) return { update: () => undefined, stop: () => undefined };
  const started = performance.now();
  let latest: ReconcileProgress = { objects: 0, bytes: 0 };
  const render = () => {
    const seconds = Math.max((performance.now() - started) / 1000, 0.001);
    const line =
      `${latest.objects.toLocaleString('en-US')} objects  ${bytesText(latest.bytes)}  ` +
      `${Math.round(latest.objects / seconds).toLocaleString('en-US')} objects/s  ${bytesText(latest.bytes / seconds)}/s`;
    io.stderr.write(terminal ? `\r\u001b[K${line}` : `${line}\n`);
  };
  const timer = setInterval(render, terminal ? 200 : 5000);
  timer.unref();
  return {
    update: (progress) => void (latest = { ...progress }),
    stop: () => {
      clearInterval(timer);
      render();
      if (terminal) io.stderr.write('\n');
    },
  };
}
