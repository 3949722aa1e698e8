import type { Stack } from '@blobferry/local-cloud';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQueueRequestCounter } from '../src/queue-requests.ts';

// The counter forwards every request to the queue endpoint it stands in front of, and counts the message
// operations by kind. The upstream here records what reached it and echoes the body.
let upstream: Server;
let upstreamOrigin: string;
const reached: string[] = [];

beforeAll(async () => {
  upstream = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      reached.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamOrigin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => upstream?.close(resolve)));

describe('the queue request counter', () => {
  it('forwards each request and counts puts, gets, deletes, lease renewals and the rest', async () => {
    const queueEndpoint = `${upstreamOrigin}/devstoreaccount1`;
    const stack = { azure: { queueEndpoint, connectionString: `AccountName=a;QueueEndpoint=${queueEndpoint};` } } as unknown as Stack;
    const counter = await startQueueRequestCounter(stack);
    try {
      const endpoint = counter.stack.azure.queueEndpoint;
      expect(endpoint).not.toBe(queueEndpoint);
      expect(counter.stack.azure.connectionString).toBe(`AccountName=a;QueueEndpoint=${endpoint};`);
      const echoed = await fetch(`${endpoint}/q/messages`, { method: 'POST', body: '<QueueMessage/>' });
      expect(await echoed.text()).toBe('<QueueMessage/>');
      for (const [method, path] of [
        ['GET', '/q/messages?numofmessages=8'],
        ['GET', '/q/messages?numofmessages=8'],
        ['GET', '/q/messages?peekonly=true'],
        ['DELETE', '/q/messages/id-1?popreceipt=p'],
        ['PUT', '/q/messages/id-1?popreceipt=p&visibilitytimeout=60'],
        ['GET', '/q?comp=metadata'],
      ] as const) {
        await (await fetch(`${endpoint}${path}`, { method })).arrayBuffer();
      }
      expect(counter.counts()).toEqual({ put: 1, get: 2, delete: 1, update: 1, other: 2 });
      expect(reached).toHaveLength(7);
      expect(reached[0]).toBe('POST /devstoreaccount1/q/messages');
      counter.reset();
      expect(counter.counts()).toEqual({ put: 0, get: 0, delete: 0, update: 0, other: 0 });
    } finally {
      await counter.close();
    }
  });
});
