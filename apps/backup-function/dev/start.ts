// `npm start [-- --json] [-- --no-events] [-- --free-ports]`: the local cloud and the Functions host, ready
// for uploads from any Azure tool, one readable line per event (or the structured entries with --json).
import { parseArgs } from 'node:util';
import { readHostJson } from '@blobferry/functions-host';
import { keyMappingFor } from '@blobferry/transfer';
import { COMMITTED_HOST_JSON, DEFAULT_STACK_FILE, startBackupStack } from './local-stack.js';
import { createTally, terminalLine } from './terminal-lines.js';

const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    'no-events': { type: 'boolean', default: false },
    'free-ports': { type: 'boolean', default: false },
  },
});
const { maxDequeueCount } = (await readHostJson(COMMITTED_HOST_JSON)).queues;
const tally = createTally();
const log = (entry: Record<string, unknown>) => {
  tally.count(entry);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(entry)}\n`);
    return;
  }
  const line = terminalLine(entry, { maxDequeueCount });
  if (line) process.stdout.write(`${new Date().toTimeString().slice(0, 8)}  ${line}\n`);
};

process.stderr.write(
  'starting the local cloud (Azurite blob + queue, S3 on moto, identity plane, STS, Event Grid) and the Functions host...\n',
);
const stack = await startBackupStack({
  stackFile: DEFAULT_STACK_FILE,
  // The fault proxy stands in front, so `local-cloud outage` can take S3, the blob endpoint or STS down.
  localCloud: { ports: flags['free-ports'] ? 'free' : 'default', faultProxy: true, ...(flags['no-events'] ? { events: false } : {}) },
  // The Functions Core Tools' port, so the health URL stays the same when a new host replaces a dead one.
  hostPort: flags['free-ports'] ? 0 : 7071,
  log,
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`\n${signal}: stopping the local stack...\n`);
  await stack.stop();
  process.stderr.write(`summary: ${tally.summary()}\nstopped; no process left behind.\n`);
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

const { azure, aws, events } = stack.cloud.stack;
process.stderr.write(
  [
    '',
    flags['no-events']
      ? 'blobferry local stack is ready, WITHOUT events: blobs uploaded now stand for an estate that predates the subscription (back them up with `blobferry backfill --local`).'
      : 'blobferry local stack is ready: every blob uploaded from now on is backed up.',
    '',
    `  Azure Storage (Azurite) connection string:`,
    `    ${azure.connectionString}`,
    `  upload into container "${azure.sourceContainer}", e.g.`,
    `    az storage blob upload --connection-string "<the string above>" -c ${azure.sourceContainer} -f ./file -n file`,
    `  blob events go to queue "${events.queueName}" (poison: "${events.poisonQueueName}"), consumed by the Functions host (pid ${stack.host().pid})`,
    '',
    `  S3 backups: s3://${aws.bucket}/${keyMappingFor({ account: azure.accountName, container: azure.sourceContainer, prefix: aws.prefix }).root}<blob>`,
    `    endpoint ${aws.s3Endpoint} (path style, region ${aws.region})`,
    `    e.g. aws --endpoint-url ${aws.s3Endpoint} s3 ls s3://${aws.bucket}/ --recursive  (profile: blobferry credentials --local)`,
    '',
    `  health: ${stack.host().baseUrl}/api/health`,
    `  outages: node tools/local-cloud/bin/local-cloud.js outage s3|azure|sts --refuse|--unavailable --for 4m (once built: npx nx build local-cloud)`,
    `  stack file: ${DEFAULT_STACK_FILE}`,
    '',
    'Ctrl-C stops everything and prints a summary.',
    '',
  ].join('\n'),
);
