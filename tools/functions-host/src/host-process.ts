import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The Functions host runs as its own process, as on Azure: killing it (SIGKILL) leaves the clouds and
// the queue running, its messages come back when their leases run out, and a supervisor starts a new
// host the way the platform replaces a recycled instance.

export interface FunctionsHostOptions {
  /**
   * Module that registers the functions: TypeScript sources (the host then runs with tsx and the
   * workspace's `@blobferry/source` condition), or a built JavaScript bundle such as the deployed package's
   * `dist/index.js`, which the host loads as Node would on Azure, without tsx.
   */
  appEntry: string;
  hostJsonPath: string;
  /** The app settings; the host process gets them as its environment, as on Azure. */
  appSettings: Record<string, string>;
  /** Lease of a received message, renewed at half its length (default 600 s, as on Azure). */
  leaseSeconds?: number;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Extra node flags for the host process (profiling). */
  nodeArgs?: string[];
  /** One structured entry per line the host logs. */
  log?: (entry: Record<string, unknown>) => void;
  /** How long the host may take to load the app (default 60 s). */
  startTimeoutMs?: number;
}

export interface FunctionsHostProcess {
  pid: number;
  /** `http://127.0.0.1:PORT`: HTTP triggers at /api/<route>. */
  baseUrl: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (the host drains its running invocations), then SIGKILL after `graceMs` (default 30 s). */
  stop(graceMs?: number): Promise<void>;
}

// From source (tests, npm start) this module is .ts; built, it is .js beside main.js.
const MAIN = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './main.ts' : './main.js', import.meta.url));

export async function startFunctionsHost(o: FunctionsHostOptions): Promise<FunctionsHostProcess> {
  const log = o.log ?? ((entry) => process.stdout.write(`${JSON.stringify(entry)}\n`));
  const fromSource = MAIN.endsWith('.ts') || /\.[cm]?ts$/.test(o.appEntry);
  const child = spawn(
    process.execPath,
    [
      ...(o.nodeArgs ?? []),
      ...(fromSource ? ['--conditions=@blobferry/source', '--import', import.meta.resolve('tsx')] : []),
      MAIN,
      '--app',
      o.appEntry,
      '--host-json',
      o.hostJsonPath,
      '--port',
      String(o.port ?? 0),
      '--lease-seconds',
      String(o.leaseSeconds ?? 600),
    ],
    { env: { ...process.env, ...o.appSettings }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the Functions host process');
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      process.removeListener('exit', killOnExit);
      resolve({ code, signal });
    }),
  );

  let recent = '';
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the Functions host did not start within ${o.startTimeoutMs ?? 60_000} ms:\n${recent}`)),
      o.startTimeoutMs ?? 60_000,
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      recent = `${recent}${line}\n`.slice(-4000);
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { source: 'host', level: 'information', message: line };
      }
      if (entry.msg === 'functions host ready' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve(entry.port);
      }
      log(entry);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      recent = `${recent}${line}\n`.slice(-4000);
      log({ source: 'host', level: 'warning', pid, stderr: line });
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the Functions host exited (code ${code}, signal ${signal}) before it was ready:\n${recent}`));
    });
  });
  let port: number;
  try {
    port = await ready;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let stopping: Promise<void> | undefined;
  return {
    pid,
    baseUrl: `http://127.0.0.1:${port}`,
    exited,
    stop(graceMs = 30_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const forced = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(forced);
      })();
      return stopping;
    },
  };
}

export interface SupervisedFunctionsHost {
  /** The host running now. */
  current(): FunctionsHostProcess;
  /** Stops supervising and stops the host. */
  stop(): Promise<void>;
}

/**
 * Starts the host and starts a new one whenever it dies (`restartDelayMs` later, default 1 s), as the
 * platform replaces a lost instance. `onStart` sees every host, the first one included.
 */
export async function superviseFunctionsHost(
  o: FunctionsHostOptions & { restartDelayMs?: number; onStart?: (host: FunctionsHostProcess) => void | Promise<void> },
): Promise<SupervisedFunctionsHost> {
  const log = o.log ?? ((entry) => process.stdout.write(`${JSON.stringify(entry)}\n`));
  let stopped = false;
  let host = await startFunctionsHost(o);
  await o.onStart?.(host);
  const watch = (running: FunctionsHostProcess): void => {
    void running.exited.then(async ({ code, signal }) => {
      if (stopped) return;
      log({ source: 'supervisor', level: 'warning', msg: 'the Functions host exited; starting a new one', pid: running.pid, code, signal });
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, o.restartDelayMs ?? 1000));
        if (stopped) return;
        try {
          host = await startFunctionsHost(o);
          break;
        } catch (error) {
          log({
            source: 'supervisor',
            level: 'error',
            msg: 'could not start a new Functions host; trying again',
            error: (error as Error).message,
          });
        }
      }
      if (stopped) {
        await host.stop();
        return;
      }
      await o.onStart?.(host);
      watch(host);
    });
  };
  watch(host);
  return {
    current: () => host,
    async stop() {
      stopped = true;
      await host.stop();
    },
  };
}
