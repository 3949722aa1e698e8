import type { Stack } from '@blobferry/local-cloud';
import type { SdkFloorOptions } from './sdk-floor.js';

// What the limit worker (workers/limit-worker.ts) can be asked to do: one endpoint operation on its own, a half
// of a scenario's limit, or the SDK floor of a small blob's copy (sdk-floor.ts).

/** One operation of the limit worker, named by `op`, with the options that operation takes. */
export type LimitOperation =
  | { op: 's3-write'; keyPrefix: string; count: number; size: number; partSize: number; concurrency: number }
  /** One object per size, `concurrency` objects in flight, `partsInFlight` parts of each multipart upload. */
  | { op: 's3-write-sizes'; keyPrefix: string; sizes: number[]; partSize: number; concurrency: number; partsInFlight: number }
  | { op: 'azure-list'; container: string; prefixes: string[]; concurrency: number }
  | { op: 's3-list'; prefixes: string[]; concurrency: number }
  | ({ op: 'sdk-floor'; concurrency: number } & Omit<SdkFloorOptions, 'stack'>);

/** What the limit worker is given: the local cloud's stack and one operation. */
export type LimitRequest = { stack: Stack } & LimitOperation;

/** What the limit worker prints: what the operation moved, and its own time and CPU, measured inside the worker. */
export type LimitResult = {
  op: LimitOperation['op'];
  bytes: number;
  objects: number;
  durationMs: number;
  cpuS: number;
};
