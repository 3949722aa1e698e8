import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import { azureFunctionsLibrary, type CoreBinding, type RegisteredFunction } from './functions-core.js';

export function triggerOf(fn: RegisteredFunction): CoreBinding | undefined {
  return Object.values(fn.bindings).find((binding) => binding.direction === 'in' && binding.type.endsWith('Trigger'));
}

export interface Invoker {
  /** Runs one invocation with a real InvocationContext whose logs become structured host log entries. */
  invoke(fn: RegisteredFunction, input: unknown, triggerMetadata: Record<string, unknown>, invocationId?: string): Promise<unknown>;
}

export async function createInvoker(log: (entry: Record<string, unknown>) => void, flushLog?: () => void): Promise<Invoker> {
  const { InvocationContext } = azureFunctionsLibrary();
  return {
    async invoke(fn, input, triggerMetadata, invocationId = randomUUID()) {
      const trigger = triggerOf(fn);
      const context = new InvocationContext({
        invocationId,
        functionName: fn.name,
        triggerMetadata,
        ...(trigger ? { options: { trigger: { ...trigger, name: Object.keys(fn.bindings)[0] ?? 'trigger' } } } : {}),
        logHandler: (level, ...args) => {
          const message = format(...args);
          let fields: Record<string, unknown> = { message };
          // The app logs JSON objects; keep them structured instead of nesting a string.
          if (message.startsWith('{')) {
            try {
              fields = JSON.parse(message) as Record<string, unknown>;
            } catch {
              fields = { message };
            }
          }
          log({ source: 'function', level, functionName: fn.name, invocationId, ...fields });
        },
      });
      try {
        return await fn.handler(input, context);
      } finally {
        // The invocation's lines are out before the trigger settles it (deletes its queue message).
        flushLog?.();
      }
    },
  };
}
