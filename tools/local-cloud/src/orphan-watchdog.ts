import { spawn, type ChildProcess } from 'node:child_process';

// If this process is killed (a test runner tearing down a worker with a signal, kill -9), neither
// stop() nor an 'exit' hook runs and the emulators would live on. A tiny watchdog process holds a pipe
// from us: when the pipe closes because we died, it kills every process group we registered.

const WATCHDOG_SOURCE = `
const groups = new Set();
let pending = '';
const killAll = (signal) => { for (const group of groups) { try { process.kill(-group, signal); } catch {} } };
process.on('SIGINT', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  let end;
  while ((end = pending.indexOf('\\n')) >= 0) {
    const [op, pid] = pending.slice(0, end).split(' ');
    pending = pending.slice(end + 1);
    if (op === '+') groups.add(Number(pid)); else groups.delete(Number(pid));
  }
});
process.stdin.on('end', () => {
  killAll('SIGTERM');
  setTimeout(() => { killAll('SIGKILL'); process.exit(0); }, 2000);
});
`;

let watchdog: ChildProcess | undefined;

function ensureWatchdog(): ChildProcess {
  if (watchdog) return watchdog;
  const started = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  started.unref();
  // The pipe must not keep this process alive; it only has to close when we die.
  (started.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  started.stdin?.on('error', () => undefined);
  watchdog = started;
  return started;
}

export function watchProcessGroup(pid: number): void {
  ensureWatchdog().stdin?.write(`+ ${pid}\n`);
}

export function unwatchProcessGroup(pid: number): void {
  watchdog?.stdin?.write(`- ${pid}\n`);
}
