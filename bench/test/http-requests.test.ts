import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { countRequests, originOf, requestKind, requestsPerBlob, type RequestEndpoints } from '../src/http-requests.ts';
import { requestsOfRcloneLog } from '../src/rclone.ts';

const endpoints: RequestEndpoints = {
  azureBlob: '127.0.0.1:41000',
  azureState: '127.0.0.1:41002',
  azureQueue: '127.0.0.1:41001',
  s3: '127.0.0.1:42000',
};
const kind = (method: string, origin: string, path: string) => requestKind({ method, origin, path }, endpoints);

describe('what a request is', () => {
  it('names Azure blob operations by comp, or else by method, and tells the source from the state account', () => {
    expect(kind('GET', endpoints.azureBlob, '/devstoreaccount1/estate?restype=container&comp=list&include=metadata,tags')).toBe(
      'azure-blob list',
    );
    expect(kind('GET', endpoints.azureBlob, '/devstoreaccount1/estate/a.bin?comp=tags')).toBe('azure-blob tags');
    expect(kind('HEAD', endpoints.azureBlob, '/devstoreaccount1/estate/a.bin')).toBe('azure-blob head');
    expect(kind('PUT', endpoints.azureState, '/devstoreaccount1/state/sweeps/r/plan.json')).toBe('azure-state put');
    expect(kind('PUT', endpoints.azureState, '/devstoreaccount1/state/sweeps/r/slices/0.json?comp=lease')).toBe('azure-state lease');
  });

  it('names queue operations with the queue', () => {
    expect(kind('POST', endpoints.azureQueue, '/devstoreaccount1/blob-events/messages?messagettl=-1')).toBe('queue blob-events send');
    expect(kind('GET', endpoints.azureQueue, '/devstoreaccount1/blob-sweep/messages?numofmessages=1')).toBe('queue blob-sweep receive');
    expect(kind('GET', endpoints.azureQueue, '/devstoreaccount1/blob-sweep/messages?peekonly=true')).toBe('queue blob-sweep peek');
    expect(kind('DELETE', endpoints.azureQueue, '/devstoreaccount1/blob-sweep/messages/abc?popreceipt=x')).toBe('queue blob-sweep delete');
    expect(kind('DELETE', endpoints.azureQueue, '/devstoreaccount1/blob-events/messages')).toBe('queue blob-events clear');
    expect(kind('GET', endpoints.azureQueue, '/devstoreaccount1/blob-events?comp=metadata')).toBe('queue blob-events metadata');
  });

  it('names S3 operations: both list versions, uploads, tagging, HEAD', () => {
    expect(kind('GET', endpoints.s3, '/bucket?list-type=2&prefix=sweep%2F')).toBe('s3 list');
    expect(kind('GET', endpoints.s3, '/bucket?delimiter=%2F&max-keys=1000&prefix=')).toBe('s3 list');
    expect(kind('GET', endpoints.s3, '/bucket/?list-type=2')).toBe('s3 list');
    expect(kind('GET', endpoints.s3, '/bucket?uploads&prefix=k')).toBe('s3 list-uploads');
    expect(kind('GET', endpoints.s3, '/bucket/k?tagging')).toBe('s3 tagging-get');
    expect(kind('HEAD', endpoints.s3, '/bucket/sweep/a.bin')).toBe('s3 head');
    expect(kind('GET', endpoints.s3, '/bucket/sweep/a.bin')).toBe('s3 get');
    expect(kind('GET', '127.0.0.1:9', '/x')).toBe('other 127.0.0.1:9');
  });

  it('reads the origin of an endpoint URL as a Host header names it', () => {
    expect(originOf('http://127.0.0.1:41000/devstoreaccount1')).toBe('127.0.0.1:41000');
  });

  it('gives requests per blob by kind and by service', () => {
    const counts = { 'azure-blob list': 1, 's3 list': 2, 's3 head': 1996, 'queue blob-events send': 80 };
    expect(requestsPerBlob(counts, 2000)).toEqual({
      byService: { 'azure-blob': 0.0005, s3: 0.999, queue: 0.04 },
      byKind: { 'azure-blob list': 0.0005, 's3 list': 0.001, 's3 head': 0.998, 'queue blob-events send': 0.04 },
    });
  });
});

describe('counting the requests a process sends', () => {
  it('counts every node:http request while it runs, and none after it stops', async () => {
    const server = createServer((_, response) => response.end('ok')).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const send = (method: string, path: string) =>
      new Promise<void>((resolve, reject) => {
        request(`http://${origin}${path}`, { method }, (response) => response.resume().on('end', resolve))
          .on('error', reject)
          .end();
      });
    try {
      const counter = countRequests({ ...endpoints, s3: origin });
      await send('HEAD', '/bucket/a');
      await send('HEAD', '/bucket/b');
      await send('GET', '/bucket?list-type=2');
      counter.stop();
      await send('HEAD', '/bucket/c');
      expect(counter.counts()).toEqual({ 's3 head': 2, 's3 list': 1 });
    } finally {
      server.close();
    }
  });
});

describe("rclone's requests", () => {
  it('reads each request line and Host of a --dump headers log (CRLF inside a dump)', () => {
    const log = [
      '2026/12/07 15:12:41 DEBUG : >>>>>>>>>>>>',
      '2026/12/07 15:12:41 DEBUG : HTTP REQUEST (req 0xc000242300)',
      '2026/12/07 15:12:41 DEBUG : HEAD /bucket/x HTTP/1.1\r',
      'Host: 127.0.0.1:42000\r',
      'User-Agent: rclone/\r',
      '\r',
      '2026/12/07 15:12:41 DEBUG : HTTP RESPONSE (req 0xc000242300)',
      '2026/12/07 15:12:41 DEBUG : HTTP/1.1 200 OK\r',
      '2026/12/07 15:12:41 DEBUG : HTTP REQUEST (req 0xc000242800)',
      '2026/12/07 15:12:41 DEBUG : GET /devstoreaccount1/estate?comp=list&restype=container HTTP/1.1\r',
      'X-Ms-Version: 2021-04-10\r',
      'Host: 127.0.0.1:41000\r',
      '\r',
    ].join('\n');
    expect(requestsOfRcloneLog(log)).toEqual([
      { method: 'HEAD', path: '/bucket/x', origin: '127.0.0.1:42000' },
      { method: 'GET', path: '/devstoreaccount1/estate?comp=list&restype=container', origin: '127.0.0.1:41000' },
    ]);
  });
});
