import { readFile } from 'node:fs/promises';
import { createRequire, findPackageJSON } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { poisonQueueOf } from '@blobferry/contract';
import { resolveBindingExpression, queueServiceFor } from './connections.js';
import { installFunctionsCore, type RegisteredFunction } from './functions-core.js';
import { readHostJson } from './host-json.js';
import { startHttpTriggers } from './http-triggers.js';
import { createInvoker, triggerOf } from './invoker.js';
import { startQueueListener, type QueueListener } from './queue-listener.js';
import { startTimerTriggers } from './timer-triggers.js';

export interface RuntimeOptions {
  /** Module that registers the functions (`app.storageQueue`, `app.timer`, `app.http`). */
  appEntry: string;
  hostJsonPath: string;
  /** 0 picks a free port. */
  port: number;
  /** Lease of a received queue message, renewed at half its length (Azure: 10 minutes). */
  leaseMs: number;
  /** App settings, as the platform hands them to the worker: its environment. */
  settings: Record<string, string | undefined>;
  log(entry: Record<string, unknown>): void;
  /** Writes what `log` holds, if it holds lines back: called as each invocation ends. */
  flushLog?(): void;
}

export interface Runtime {
  port: number;
  functions: string[];
  /** Stops taking messages, waits for running invocations, closes the HTTP server. */
  drain(): Promise<void>;
}

/**
 * Loads the app as the Functions Node.js worker does (its loadScriptFile): import() for an ES module
 * (.mjs, or a file in a `"type": "module"` package), require() otherwise, so a CommonJS bundle such as
 * the deployed package is not scanned for ES exports first (about 0.25 s of CPU for 4.6 MiB).
 */
async function loadApp(entry: string): Promise<void> {
  if (await isEsModule(entry)) await import(pathToFileURL(entry).href);
  else createRequire(import.meta.url)(entry);
}

export async function isEsModule(entry: string): Promise<boolean> {
  const extension = extname(entry);
  if (extension === '.mjs' || extension === '.mts') return true;
  if (extension === '.cjs' || extension === '.cts') return false;
  const packageJson = findPackageJSON(pathToFileURL(entry));
  if (!packageJson) return false;
  return (JSON.parse(await readFile(packageJson, 'utf8')) as { type?: unknown }).type === 'module';
}

/** Loads the app, then serves its triggers. Runs inside the host process (see main.ts). */
export async function runFunctions(o: RuntimeOptions): Promise<Runtime> {
  const hostJson = await readHostJson(o.hostJsonPath);
  const core = installFunctionsCore();
  core.systemLog = (level, category, message) => o.log({ source: 'functions', level, category, message });
  await loadApp(o.appEntry);
  const functions = [...core.functions.values()];
  const invoker = await createInvoker(o.log, o.flushLog);

  /** Like the runtime: an invocation past functionTimeout takes the whole host down (a queue message comes back when its lease runs out). */
  async function withinFunctionTimeout(fn: RegisteredFunction, run: () => Promise<unknown>): Promise<void> {
    const timeoutMs = hostJson.functionTimeoutMs;
    if (timeoutMs === undefined) {
      await run();
      return;
    }
    const timer = setTimeout(() => {
      o.log({
        source: 'host',
        level: 'error',
        functionName: fn.name,
        msg: `Timeout value of ${timeoutMs} ms exceeded by function '${fn.name}'. Restarting the host.`,
      });
      process.exit(1);
    }, timeoutMs);
    try {
      await run();
    } finally {
      clearTimeout(timer);
    }
  }

  const listeners: QueueListener[] = [];
  for (const fn of functions) {
    const trigger = triggerOf(fn);
    if (trigger?.type !== 'queueTrigger') continue;
    const queueName = resolveBindingExpression(String(trigger.queueName), o.settings);
    const service = queueServiceFor(String(trigger.connection), o.settings);
    const queue = service.getQueueClient(queueName);
    listeners.push(
      startQueueListener({
        functionName: fn.name,
        queue,
        poisonQueue: service.getQueueClient(poisonQueueOf(queueName)),
        options: hostJson.queues,
        leaseMs: o.leaseMs,
        log: o.log,
        invoke: ({ input, triggerMetadata }) => withinFunctionTimeout(fn, () => invoker.invoke(fn, input, triggerMetadata)),
      }),
    );
  }
  const timers = startTimerTriggers({
    functions,
    appEntry: o.appEntry,
    settings: o.settings,
    singleton: hostJson.singleton,
    log: o.log,
    invoke: (fn, timer, invocationId) => withinFunctionTimeout(fn, () => invoker.invoke(fn, timer, {}, invocationId)),
  });
  const http = await startHttpTriggers({ functions, invoker, port: o.port, log: o.log });
  return {
    port: http.port,
    functions: functions.map((fn) => fn.name),
    async drain() {
      await Promise.all([...listeners.map((listener) => listener.drain()), timers.stop()]);
      await http.close();
    },
  };
}
