// The host's log: one JSON object per line on stdout. Node writes a pipe synchronously on Linux, one system call
// that wakes the reader per write, and the host's event loop waits for it; so a function's lines (`source:
// 'function'`, one or more per copy) are held and go out together: when an invocation ends (before its message is
// deleted, so a reader that sees the queue drained has its lines), after FLUSH_AFTER_MS, at FLUSH_AT_BYTES, and as
// the process exits. The host's own lines (ready, a message moved to the poison queue) are few and tell of a change
// a reader may act on at once: each goes out as it is logged, with the lines held before it.

const FLUSH_AFTER_MS = 25;
const FLUSH_AT_BYTES = 32 * 1024;

export type LogEntry = Record<string, unknown>;

export interface LogLines {
  log(entry: LogEntry): void;
  /** Writes the lines held now. */
  flush(): void;
}

export function createLogLines(out: NodeJS.WritableStream = process.stdout): LogLines {
  let held: string[] = [];
  let heldBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (held.length === 0) return;
    const text = held.join('');
    held = [];
    heldBytes = 0;
    out.write(text);
  };
  process.on('exit', flush);
  const log = (entry: LogEntry) => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), pid: process.pid, ...entry })}\n`;
    held.push(line);
    heldBytes += line.length;
    if (entry['source'] !== 'function' || heldBytes >= FLUSH_AT_BYTES) flush();
    else timer ??= setTimeout(flush, FLUSH_AFTER_MS).unref();
  };
  return { log, flush };
}
