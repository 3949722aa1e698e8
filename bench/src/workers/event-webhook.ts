import type { Stack } from '@blobferry/local-cloud';
import { createServer, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { printResult } from './worker-io.js';

// The Event Grid webhook side of the small-blobs scenario, shared by its two consumers (event-driver and
// function-host). Protocol with the bench, one line each on stdout: `URL <webhook>` once listening; then the bench
// writes the stack as one JSON line on stdin; `READY` once events can be handled; `DONE <json>` per BlobCreated
// event handled successfully; `RESULT <json>` when stdin closes, then exit.

export interface BlobCreatedEvent {
  eventType: string;
  eventTime: string;
  data: { url?: string; validationCode?: string };
}

/** Handles one delivery (an array of events); throwing answers 500 so the local Event Grid retries. */
export type DeliveryHandler = (events: BlobCreatedEvent[], body: string) => Promise<void>;

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function blobNameOf(url: string | undefined): string {
  // Path-style Azurite URL: /<account>/<container>/<blob...>
  const path = new URL(url ?? 'http://invalid/').pathname.split('/').slice(3).join('/');
  return decodeURIComponent(path);
}

export function serveEventWebhook(prepare: (stack: Stack) => Promise<DeliveryHandler>): void {
  let handler: DeliveryHandler | undefined;
  let handled = 0;
  const server = createServer((request, response) => {
    const receivedAt = Date.now();
    void (async () => {
      try {
        const body = await readBody(request);
        const events = JSON.parse(body) as BlobCreatedEvent[];
        const validation = events.find((event) => event.eventType === 'Microsoft.EventGrid.SubscriptionValidationEvent');
        if (validation) {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ validationResponse: validation.data.validationCode }));
          return;
        }
        if (!handler) throw new Error('not ready');
        await handler(events, body);
        const completedAt = Date.now();
        for (const event of events) {
          if (event.eventType !== 'Microsoft.Storage.BlobCreated') continue;
          handled += 1;
          const done = { blobName: blobNameOf(event.data.url), eventTime: event.eventTime, receivedAt, completedAt };
          process.stdout.write(`DONE ${JSON.stringify(done)}\n`);
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

  let started = false;
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (started || !line.trim()) return;
    started = true;
    prepare(JSON.parse(line) as Stack).then(
      (ready) => {
        handler = ready;
        process.stdout.write('READY\n');
      },
      (error: unknown) => {
        process.stderr.write(`could not start the consumer: ${(error as Error).stack ?? String(error)}\n`);
        process.exit(1);
      },
    );
  });
  lines.on('close', () => {
    server.close();
    server.closeAllConnections();
    printResult({ handled });
    process.exit(0);
  });
}
