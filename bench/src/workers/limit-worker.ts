import type { Stack } from '@blobferry/local-cloud';
import { endpointsFor, listBlobs, listObjects, writeObjects, writeObjectsOfSizes } from '../endpoint-ops.js';
import { sdkFloor, type SdkFloorOptions } from '../sdk-floor.js';
import { printResult, workerArgs } from './worker-io.js';

// One endpoint operation on its own, in its own process: a half of a scenario's limit (writes and listings;
// reads are measured with curl, see curl-reads.ts), or the SDK floor of a small blob's copy (sdk-floor.ts).

export type LimitOperation =
  | { op: 's3-write'; keyPrefix: string; count: number; size: number; partSize: number; concurrency: number }
  /** One object per size, `concurrency` objects in flight, `partsInFlight` parts of each multipart upload. */
  | { op: 's3-write-sizes'; keyPrefix: string; sizes: number[]; partSize: number; concurrency: number; partsInFlight: number }
  | { op: 'azure-list'; container: string; prefixes: string[]; concurrency: number }
  | { op: 's3-list'; prefixes: string[]; concurrency: number }
  | ({ op: 'sdk-floor'; concurrency: number } & Omit<SdkFloorOptions, 'stack'>);

const args = workerArgs<{ stack: Stack } & LimitOperation>();
const e = endpointsFor(args.stack, args.concurrency);
const started = performance.now();
const cpuAtStart = process.cpuUsage();
let bytes = 0;
let objects = 0;
/** The SDK floor times its requests itself: filling its queue first is not part of them. */
let timedBySdkFloor: { durationMs: number; cpuS: number } | undefined;
switch (args.op) {
  case 's3-write':
    bytes = await writeObjects({ e, ...args });
    objects = args.count;
    break;
  case 's3-write-sizes':
    bytes = await writeObjectsOfSizes({ e, ...args, filesInFlight: args.concurrency });
    objects = args.sizes.length;
    break;
  case 'azure-list':
    objects = await listBlobs({ e, ...args });
    break;
  case 's3-list':
    objects = await listObjects({ e, ...args });
    break;
  case 'sdk-floor': {
    const floor = await sdkFloor({ ...args, stack: args.stack });
    objects = floor.objects;
    timedBySdkFloor = floor;
    break;
  }
}
const cpu = process.cpuUsage(cpuAtStart);
printResult({
  op: args.op,
  bytes,
  objects,
  durationMs: timedBySdkFloor?.durationMs ?? performance.now() - started,
  cpuS: timedBySdkFloor?.cpuS ?? (cpu.user + cpu.system) / 1e6,
});
e.agent.destroy();
