export {
  startFunctionsHost,
  superviseFunctionsHost,
  type FunctionsHostOptions,
  type FunctionsHostProcess,
  type SupervisedFunctionsHost,
} from './host-process.js';
export { parseHostJson, readHostJson, type HostJson, type QueueOptions } from './host-json.js';
export { installFunctionsCore, type RegisteredFunction } from './functions-core.js';
