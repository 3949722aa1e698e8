import { spawn, type ChildProcess } from 'node:child_process';
import { unwatchProcessGroup, watchProcessGroup } from './orphan-watchdog.js';

// Every emulator runs as a child in its own process group, so stopping it also stops whatever it spawned
// (moto_server's reloader, npm shims). If stop() is never called, a process-exit hook (normal exit) or the
// orphan watchdog (killed by a signal) kills the groups that are still alive.

export interface ManagedChild {
  name: string;
  pid: number;
  /** Resolves with the first stdout/stderr match of `readyPattern`. */
  ready: Promise<RegExpMatchArray>;
  /** Recent output, for error messages when a child fails to start. */
  output(): string;
  stop(): Promise<void>;
}

const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  });
}

export interface SpawnChildOptions {
  name: string;
  command: string;
  args: string[];
  readyPattern: RegExp;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  startTimeoutMs?: number;
}

export function spawnChild(o: SpawnChildOptions): ManagedChild {
  installExitHook();
  const child: ChildProcess = spawn(o.command, o.args, {
    cwd: o.cwd,
    env: o.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${o.name}: could not start ${o.command}`);
  const pid = child.pid;
  liveGroups.add(pid);
  watchProcessGroup(pid);
  let recent = '';
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      liveGroups.delete(pid);
      unwatchProcessGroup(pid);
      resolve();
    });
  });
  const ready = new Promise<RegExpMatchArray>((resolve, reject) => {
    let seen = '';
    let isReady = false;
    const timer = setTimeout(
      () => reject(new Error(`${o.name} did not become ready within ${o.startTimeoutMs ?? 60_000} ms. Output:\n${recent}`)),
      o.startTimeoutMs ?? 60_000,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      recent = (recent + text).slice(-4000);
      // Once ready, the output is only kept for error messages: a busy child logs a line per request.
      if (isReady) return;
      seen = (seen + text).slice(-4000);
      const match = seen.match(o.readyPattern);
      if (match) {
        isReady = true;
        seen = '';
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${o.name}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const hint = /EADDRINUSE/.test(recent)
        ? ' Its port is taken: stop the other stack, or use free ports (the default; not --ports default).'
        : '';
      reject(new Error(`${o.name} exited (code ${code}, signal ${signal}) before it was ready.${hint} Output:\n${recent}`));
    });
  });
  ready.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    name: o.name,
    pid,
    ready,
    output: () => recent,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        killGroup(pid, 'SIGTERM');
        const forced = setTimeout(() => killGroup(pid, 'SIGKILL'), 3000);
        await exited;
        clearTimeout(forced);
        // The leader is gone; make sure nothing it forked survives in the group.
        killGroup(pid, 'SIGKILL');
      })();
      return stopping;
    },
  };
}
