import { createRequire, registerHooks } from 'node:module';

/**
 * `@azure/functions` registers each `app.*` function with `require('@azure/functions-core')`, a
 * module the real Functions worker injects. This stand-in captures those registrations so the
 * local host can route deliveries to the very handlers the deployed app registers.
 */
export interface CoreBinding {
  type: string;
  direction: 'in' | 'out';
  route?: string;
  methods?: string[];
  authLevel?: string;
  [key: string]: unknown;
}

export interface RegisteredFunction {
  name: string;
  bindings: Record<string, CoreBinding>;
  handler: (...args: unknown[]) => unknown;
}

interface FunctionsCoreStandIn {
  functions: Map<string, RegisteredFunction>;
  programmingModel: unknown;
  systemLog: (level: string, category: string, message: string) => void;
  setProgrammingModel(model: unknown): void;
  getProgrammingModel(): unknown;
  registerFunction(
    metadata: { name: string; bindings: Record<string, CoreBinding> },
    handler: RegisteredFunction['handler'],
  ): { dispose(): void };
  registerHook(hookName: string): never;
  log(level: string, category: string, message: string): void;
}

const STAND_IN_KEY = Symbol.for('blobferry.functions-core-stand-in');
const STAND_IN_URL = 'blobferry:functions-core';

type GlobalWithStandIn = typeof globalThis & { [STAND_IN_KEY]?: FunctionsCoreStandIn };

/** Installs the stand-in once per process and returns the registrations it captures. */
export function installFunctionsCore(): FunctionsCoreStandIn {
  const global = globalThis as GlobalWithStandIn;
  const existing = global[STAND_IN_KEY];
  if (existing) return existing;

  const standIn: FunctionsCoreStandIn = {
    functions: new Map(),
    programmingModel: undefined,
    systemLog: () => undefined,
    setProgrammingModel(model) {
      standIn.programmingModel = model;
    },
    getProgrammingModel() {
      return standIn.programmingModel;
    },
    registerFunction(metadata, handler) {
      standIn.functions.set(metadata.name, { name: metadata.name, bindings: metadata.bindings, handler });
      return { dispose: () => standIn.functions.delete(metadata.name) };
    },
    registerHook(hookName) {
      throw new Error(`app.hook.${hookName} is not supported by the local Functions host (tools/functions-host)`);
    },
    log(level, category, message) {
      standIn.systemLog(level, category, message);
    },
  };
  global[STAND_IN_KEY] = standIn;

  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (specifier === '@azure/functions-core') return { url: STAND_IN_URL, format: 'commonjs', shortCircuit: true };
      return nextResolve(specifier, context);
    },
    load(url, context, nextLoad) {
      if (url === STAND_IN_URL) {
        const source = `module.exports = globalThis[Symbol.for(${JSON.stringify(STAND_IN_KEY.description)})];`;
        return { format: 'commonjs', source, shortCircuit: true };
      }
      return nextLoad(url, context);
    },
  });
  return standIn;
}

/**
 * The host's own `@azure/functions` (its HttpRequest, HttpResponse, InvocationContext), loaded after
 * installFunctionsCore because it requires `@azure/functions-core` as it loads. Required rather than
 * imported: the package is a bundled CommonJS file whose named exports Node's ESM loader cannot detect.
 */
export function azureFunctionsLibrary(): typeof import('@azure/functions') {
  return createRequire(import.meta.url)('@azure/functions') as typeof import('@azure/functions');
}
