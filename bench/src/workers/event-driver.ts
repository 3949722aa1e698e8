import type { Stack } from '@blobferry/local-cloud';
import { backupKeyFor, copyBlobToS3, parseBlobUrl } from '@blobferry/transfer';
import { createServer, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { azureContainer, blobferryS3Client } from '../clients.js';
import { printResult, workerArgs } from './worker-io.js';

// Stand-in for the backup function while its local host is not there: an Event Grid webhook that copies each
// BlobCreated blob with libs/transfer's copyBlobToS3 (the function's data path, without its validation and
// telemetry). Protocol with the bench: prints `URL <webhook>`, reads the stack as one JSON line on stdin, prints
// `DONE <json>` per copied blob, and prints its RESULT and exits when stdin closes.

interface EventGridEvent {
  eventType: string;
  eventTime: string;
  data: { url?: string; validationCode?: string };
}

const args = workerArgs<{ keyPrefix: string; partSize?: number; concurrency?: number }>();
let stack: Stack | undefined;
let copied = 0;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function backUp(event: EventGridEvent, receivedAt: number): Promise<void> {
  if (!stack) throw new Error('no stack yet');
  if (!event.data.url) throw new Error('BlobCreated event without data.url');
  const blob = parseBlobUrl(event.data.url);
  const result = await copyBlobToS3({
    source: { blob: azureContainer(stack, blob.container).getBlobClient(blob.blobName) },
    target: { s3: s3, bucket: stack.aws.bucket, key: `${args.keyPrefix}${backupKeyFor(blob)}` },
    ...(args.partSize ? { partSize: args.partSize } : {}),
    ...(args.concurrency ? { concurrency: args.concurrency } : {}),
  });
  copied += 1;
  process.stdout.write(
    `DONE ${JSON.stringify({ blobName: blob.blobName, outcome: result.outcome, eventTime: event.eventTime, receivedAt, completedAt: Date.now() })}\n`,
  );
}

let s3: ReturnType<typeof blobferryS3Client>;
const server = createServer((request, response) => {
  const receivedAt = Date.now();
  void (async () => {
    try {
      const events = JSON.parse(await readBody(request)) as EventGridEvent[];
      const validation = events.find((event) => event.eventType === 'Microsoft.EventGrid.SubscriptionValidationEvent');
      if (validation) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ validationResponse: validation.data.validationCode }));
        return;
      }
      for (const event of events) {
        if (event.eventType === 'Microsoft.Storage.BlobCreated') await backUp(event, receivedAt);
      }
      response.writeHead(200).end();
    } catch (error) {
      process.stderr.write(`delivery failed: ${(error as Error).message}\n`);
      response.writeHead(500).end();
    }
  })();
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`URL http://127.0.0.1:${address.port}/\n`);
});

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (stack || !line.trim()) return;
  stack = JSON.parse(line) as Stack;
  s3 = blobferryS3Client(stack);
});
lines.on('close', () => {
  server.close();
  printResult({ copied });
  process.exit(0);
});
