import { endpointsFor, listBlobs, listObjects, writeObjects, writeObjectsOfSizes } from '../endpoint-ops.js';
import type { LimitRequest, LimitResult } from '../limit-operations.js';
import { sdkFloor } from '../sdk-floor.js';
import { printResult, workerArgs } from './worker-io.js';

// One endpoint operation on its own, in its own process (limit-operations.ts): a half of a scenario's limit
// (writes and listings; reads are measured with curl, see curl-reads.ts), or the SDK floor of a small blob's copy.

const args = workerArgs<LimitRequest>();
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
} satisfies LimitResult);
e.agent.destroy();
