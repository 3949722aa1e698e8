import { startLocalCloud } from '@blobferry/local-cloud';
import { writeSync } from 'node:fs';
import type { BenchS3 } from './scenario.js';

// Child-process entry: holds one local cloud (Azurite's Blob and Queue services, the S3 endpoint, identity plane,
// event delivery) in a process of its own, so the tools measured never carry its CPU or memory. Prints
// `STACK <json>` once ready and stops everything when its stdin closes (the bench closes it, or dies and the pipe
// closes by itself).

interface RunnerOptions {
  s3: BenchS3;
  /**
   * BlobCreated/BlobDeleted delivered into the backup queue (stack.events.queueName), as infra/bicep subscribes
   * them; `concurrency` is the local Event Grid's deliveries in flight. Events are off when absent.
   */
  events?: { concurrency?: number };
  /** Keep Azurite's and s3rver's data here (s3rver's folder is `<persistDir>/s3rver`). */
  persistDir?: string;
}

const options = JSON.parse(process.argv[2] ?? '{}') as RunnerOptions;
const quiet = (): void => undefined;

const cloud = await startLocalCloud({
  s3: options.s3,
  ports: 'free',
  stackFile: false,
  ...(options.persistDir ? { persistDir: options.persistDir } : {}),
  events: options.events ? { target: 'queue', ...(options.events.concurrency ? { concurrency: options.events.concurrency } : {}) } : false,
  log: process.env.BLOBFERRY_BENCH_CLOUD_LOG ? (entry) => process.stderr.write(`${JSON.stringify(entry)}\n`) : quiet,
});
writeSync(1, `STACK ${JSON.stringify(cloud.stack)}\n`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await cloud.stop();
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
