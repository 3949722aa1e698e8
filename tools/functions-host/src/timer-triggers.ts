import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ContainerClient } from '@azure/storage-blob';
import { blobServiceFor, HOST_STORAGE_CONNECTION, resolveBindingExpression } from './connections.js';
import type { RegisteredFunction } from './functions-core.js';
import type { SingletonOptions } from './host-json.js';
import { hostIdOf } from './host-id.js';
import { triggerOf } from './invoker.js';
import { tryListenerLock } from './listener-lock.js';
import { cronSchedule, monitorsByDefault } from './ncrontab.js';
import { blobScheduleMonitor, type TimerInfo } from './schedule-monitor.js';
import { startSingletonListener, type SingletonListener } from './singleton-listener.js';
import { startTimerListener } from './timer-listener.js';

// Timer triggers (`app.timer`) as the Functions runtime runs them: an NCRONTAB schedule (binding
// expressions resolved from app settings, UTC unless WEBSITE_TIME_ZONE), one invocation at a time, on one
// instance of the app at a time (a blob lease in the host storage), with the schedule monitored there.

/** The host storage container where the runtime keeps its locks and timer status. */
export const HOST_CONTAINER = 'azure-webjobs-hosts';

export interface StartTimerTriggersOptions {
  functions: RegisteredFunction[];
  /** The module that registers the functions: the default host id derives from its folder. */
  appEntry: string;
  settings: Record<string, string | undefined>;
  singleton: SingletonOptions;
  /** Runs one invocation (the host's function timeout applies). */
  invoke(fn: RegisteredFunction, timer: TimerInfo, invocationId: string): Promise<unknown>;
  log(entry: Record<string, unknown>): void;
}

export interface TimerTriggers {
  /** Stops every timer, waits for running invocations and releases the locks. */
  stop(): Promise<void>;
}

function hostContainerOf(settings: Record<string, string | undefined>, timerFunctions: RegisteredFunction[]): ContainerClient {
  try {
    return blobServiceFor(HOST_STORAGE_CONNECTION, settings).getContainerClient(HOST_CONTAINER);
  } catch (error) {
    throw new Error(
      `timer functions (${timerFunctions.map((fn) => fn.name).join(', ')}) keep their schedule and lock in the host storage: ${(error as Error).message}`,
    );
  }
}

export function startTimerTriggers(o: StartTimerTriggersOptions): TimerTriggers {
  const timerFunctions = o.functions.filter((fn) => triggerOf(fn)?.type === 'timerTrigger');
  if (timerFunctions.length === 0) return { stop: async () => undefined };
  const { settings, log } = o;
  const hostId = hostIdOf(settings, o.appEntry);
  const container = hostContainerOf(settings, timerFunctions);
  const instanceId = settings.WEBSITE_INSTANCE_ID ?? `${hostname()}-${process.pid}`;
  const now = new Date();

  const listeners: SingletonListener[] = timerFunctions.map((fn) => {
    const trigger = triggerOf(fn);
    const written = String(trigger?.schedule ?? '');
    const setting = /^%([^%]+)%$/.exec(written.trim())?.[1];
    const schedule = cronSchedule(resolveBindingExpression(written, settings), {
      timeZone: settings.WEBSITE_TIME_ZONE || 'UTC',
      functionName: fn.name,
      ...(setting ? { setting } : {}),
    });
    const useMonitor = typeof trigger?.useMonitor === 'boolean' ? trigger.useMonitor : monitorsByDefault(schedule, now);
    // The runtime's names: the function's full name, its listener lock and its status blob.
    const fullName = `Host.Functions.${fn.name}`;
    const lockId = `${hostId}/${fullName}.Listener`;
    const monitor = useMonitor ? blobScheduleMonitor({ container, hostId, timerName: fullName, log }) : undefined;
    return startSingletonListener({
      lockId,
      recoveryPollingIntervalMs: o.singleton.listenerLockRecoveryPollingIntervalMs,
      tryLock: () => tryListenerLock({ container, lockId, periodMs: o.singleton.listenerLockPeriodMs, instanceId, log }),
      startListener: () =>
        startTimerListener({
          functionName: fn.name,
          schedule,
          runOnStartup: trigger?.runOnStartup === true,
          monitor,
          log,
          invoke: (timer, firedAt) => invokeLogged(fn, timer, firedAt),
        }),
      log,
    });
  });

  /** With the runtime's Executing / Executed lines around it. */
  async function invokeLogged(fn: RegisteredFunction, timer: TimerInfo, firedAt: Date): Promise<void> {
    const invocationId = randomUUID();
    const startedAt = Date.now();
    log({
      source: 'host',
      level: 'information',
      functionName: fn.name,
      invocationId,
      msg: `Executing 'Functions.${fn.name}' (Reason='Timer fired at ${firedAt.toISOString()}', Id=${invocationId})`,
    });
    try {
      await o.invoke(fn, timer, invocationId);
    } catch (error) {
      log({
        source: 'host',
        level: 'error',
        functionName: fn.name,
        invocationId,
        msg: `Executed 'Functions.${fn.name}' (Failed, Id=${invocationId}, Duration=${Date.now() - startedAt}ms)`,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      throw error;
    }
    log({
      source: 'host',
      level: 'information',
      functionName: fn.name,
      invocationId,
      msg: `Executed 'Functions.${fn.name}' (Succeeded, Id=${invocationId}, Duration=${Date.now() - startedAt}ms)`,
    });
  }

  return {
    async stop() {
      await Promise.all(listeners.map((listener) => listener.stop()));
    },
  };
}
