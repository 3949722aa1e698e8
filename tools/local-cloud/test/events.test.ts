import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventGridDeserializer, isSystemEvent } from '@azure/eventgrid';
import { BlobSASPermissions, BlobServiceClient, ContainerClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { AZURE_INVENTORY_CONTAINER, AZURE_INVENTORY_RULE } from '@blobferry/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalCloud, type EventGridEvent, type LocalCloud } from '../src/index.js';
import { required } from './required.js';

const deserializer = new EventGridDeserializer();

function sourceContainer(cloud: LocalCloud) {
  return BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getContainerClient(cloud.stack.azure.sourceContainer);
}

/** Completes an inventory run as Azure does, by writing its manifest checksum; returns the manifest's URL. */
async function completeInventoryRun(cloud: LocalCloud, runFolder: string): Promise<string> {
  const container = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getContainerClient(
    AZURE_INVENTORY_CONTAINER,
  );
  await container.createIfNotExists();
  const run = `${runFolder}/${AZURE_INVENTORY_RULE}/${AZURE_INVENTORY_RULE}`;
  await container.getBlockBlobClient(`${run}-manifest.checksum`).upload('checksum', 8);
  return container.getBlobClient(`${run}-manifest.json`).url;
}

describe('BlobCreated delivery to an in-process handler', () => {
  let cloud: LocalCloud;
  const received: EventGridEvent[] = [];

  beforeAll(async () => {
    cloud = await startLocalCloud({
      log: () => undefined,
      events: {
        target: {
          handler: async (event) => {
            received.push(event);
          },
        },
      },
    });
  });
  afterAll(() => cloud?.stop());

  it('delivers an event the Event Grid SDK parses as Microsoft.Storage.BlobCreated, with the blob URL a client builds', async () => {
    const blob = sourceContainer(cloud).getBlockBlobClient('incoming/report 2024 #1 ü.txt');
    const uploaded = await blob.upload('hello', 5, { blobHTTPHeaders: { blobContentType: 'text/plain' } });
    await cloud.events.idle();

    expect(received).toHaveLength(1);
    const [parsed] = await deserializer.deserializeEventGridEvents(JSON.stringify(received));
    expect(parsed).toBeDefined();
    if (!parsed || !isSystemEvent('Microsoft.Storage.BlobCreated', parsed)) throw new Error('not a BlobCreated event');
    expect(parsed.topic).toBe(
      '/subscriptions/00000000-0000-4000-8000-00000000b10b/resourceGroups/blobferry-local/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    );
    expect(parsed.subject).toBe('/blobServices/default/containers/source/blobs/incoming/report 2024 #1 ü.txt');
    expect(parsed.dataVersion).toBe('');
    expect(received[0]?.metadataVersion).toBe('1');
    expect(parsed.eventTime).toBeInstanceOf(Date);
    expect(parsed.data).toMatchObject({
      api: 'PutBlob',
      eTag: uploaded.etag?.replace(/"/g, ''),
      contentType: 'text/plain',
      contentLength: 5,
      blobType: 'BlockBlob',
      url: blob.url,
    });
    expect(parsed.data.sequencer).toMatch(/^[0-9a-f]{32}$/);
    expect(parsed.data.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(parsed.data.clientRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(cloud.events.delivered().map((event) => event.id)).toEqual([parsed.id]);
  });

  it('reports an overwrite as a second event with a greater sequencer, and a block-list commit as PutBlockList', async () => {
    const blob = sourceContainer(cloud).getBlockBlobClient('overwritten.bin');
    await blob.upload('first', 5);
    await cloud.events.idle();
    await blob.uploadData(Buffer.alloc(300, 1), { blockSize: 100, maxSingleShotSize: 100 });
    await cloud.events.idle();

    const forBlob = received.filter((event) => event.subject.endsWith('/blobs/overwritten.bin')) as Array<
      EventGridEvent<{ api: string; sequencer: string; contentLength: number }>
    >;
    expect(forBlob.map((event) => [event.data.api, event.data.contentLength])).toEqual([
      ['PutBlob', 5],
      ['PutBlockList', 300],
    ]);
    const [first, second] = forBlob.map((event) => event.data.sequencer);
    expect(required(second, 'second sequencer') > required(first, 'first sequencer')).toBe(true);
  });

  it('announces each blob type created by Put Blob with the properties Azure then reports for it', async () => {
    const container = sourceContainer(cloud);
    await container.getBlockBlobClient('types/block.bin').upload(Buffer.alloc(7), 7);
    await container.getPageBlobClient('types/page.vhd').create(1024, { blobHTTPHeaders: { blobContentType: 'application/x-vhd' } });
    await container.getAppendBlobClient('types/append.log').create({ blobHTTPHeaders: { blobContentType: 'text/plain' } });
    await cloud.events.idle();

    for (const name of ['types/block.bin', 'types/page.vhd', 'types/append.log']) {
      const event = received.find((e) => e.subject.endsWith(`/blobs/${name}`)) as
        EventGridEvent<{ contentType: string; contentLength: number; blobType: string }> | undefined;
      const properties = await container.getBlobClient(name).getProperties();
      expect([name, event?.data.blobType, event?.data.contentLength, event?.data.contentType]).toEqual([
        name,
        properties.blobType,
        properties.contentLength,
        properties.contentType,
      ]);
    }
  });

  it('raises BlobTierChanged for Set Blob Tier, with the tier set and the one it replaced (none when it was inferred)', async () => {
    const blob = sourceContainer(cloud).getBlockBlobClient('tiers/photo.jpg');
    await blob.upload('tiered', 6, { blobHTTPHeaders: { blobContentType: 'image/jpeg' } });
    await cloud.events.idle();
    await blob.setAccessTier('Cool');
    await blob.setAccessTier('Cool'); // the tier it has: no change, no event
    await blob.setAccessTier('Archive');
    await cloud.events.idle();

    const forBlob = received.filter((event) => event.subject === '/blobServices/default/containers/source/blobs/tiers/photo.jpg');
    expect(forBlob.map((event) => event.eventType)).toEqual([
      'Microsoft.Storage.BlobCreated',
      'Microsoft.Storage.BlobTierChanged',
      'Microsoft.Storage.BlobTierChanged',
    ]);
    const parsed = await deserializer.deserializeEventGridEvents(JSON.stringify(forBlob.slice(1)));
    const data = parsed.map((event) => {
      if (!isSystemEvent('Microsoft.Storage.BlobTierChanged', event)) throw new Error('not a BlobTierChanged event');
      return event.data;
    });
    const common = {
      api: 'SetBlobTier',
      clientRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      contentType: 'image/jpeg',
      contentLength: 6,
      blobType: 'BlockBlob',
      url: blob.url,
      sequencer: expect.stringMatching(/^[0-9a-f]{32}$/),
      storageDiagnostics: { batchId: expect.any(String) },
    };
    // A new blob's tier is inferred from the account's default: there is no previous tier to report.
    expect(data).toEqual([
      { ...common, accessTier: 'Cool' },
      { ...common, accessTier: 'Archive', previousTier: 'Cool' },
    ]);
    const sequencers = forBlob.map((event) => (event.data as { sequencer: string }).sequencer);
    expect([...sequencers].sort()).toEqual(sequencers);
  });

  describe('operations Azure announces nothing for', () => {
    const eventsFor = (name: string) =>
      received.filter((event) => event.subject === `/blobServices/default/containers/source/blobs/${name}`);

    it("AppendBlock: only the append blob's creation is announced", async () => {
      const blob = sourceContainer(cloud).getAppendBlobClient('silent/appended.log');
      await blob.create();
      await blob.appendBlock('line 1\n', 7);
      await blob.appendBlock('line 2\n', 7);
      await cloud.events.idle();
      expect((await blob.getProperties()).contentLength).toBe(14);
      expect(eventsFor('silent/appended.log').map((event) => (event.data as { api: string }).api)).toEqual(['PutBlob']);
    });

    it("PutPage: only the page blob's creation is announced", async () => {
      const blob = sourceContainer(cloud).getPageBlobClient('silent/disk.vhd');
      await blob.create(1024);
      await blob.uploadPages(Buffer.alloc(512, 1), 0, 512);
      await cloud.events.idle();
      expect((await blob.getPageRanges()).pageRange).toEqual([{ offset: 0, count: 511 }]);
      expect(eventsFor('silent/disk.vhd').map((event) => (event.data as { api: string }).api)).toEqual(['PutBlob']);
    });

    it('Set Blob Metadata', async () => {
      const blob = sourceContainer(cloud).getBlockBlobClient('silent/metadata.txt');
      await blob.upload('m', 1);
      await blob.setMetadata({ owner: 'finance' });
      await cloud.events.idle();
      expect((await blob.getProperties()).metadata).toEqual({ owner: 'finance' });
      expect(eventsFor('silent/metadata.txt').map((event) => (event.data as { api: string }).api)).toEqual(['PutBlob']);
    });

    it('Set Blob Tags', async () => {
      const blob = sourceContainer(cloud).getBlockBlobClient('silent/tags.txt');
      await blob.upload('t', 1);
      await blob.setTags({ project: 'blobferry', stage: 'test' });
      await cloud.events.idle();
      expect((await blob.getTags()).tags).toEqual({ project: 'blobferry', stage: 'test' });
      expect(eventsFor('silent/tags.txt').map((event) => (event.data as { api: string }).api)).toEqual(['PutBlob']);
    });
  });

  it("answers Get Blob with the blob's access tier, as Azure does from service version 2026-10-06, and older versions without it", async () => {
    const cool = sourceContainer(cloud).getBlockBlobClient('tiers/cool.txt');
    await cool.upload('cool', 4);
    await cool.setAccessTier('Cool');
    const inferred = sourceContainer(cloud).getBlockBlobClient('tiers/inferred.txt');
    await inferred.upload('hot', 3);
    const coolDownload = await cool.download(0, undefined);
    expect(coolDownload.accessTier).toBe('Cool');
    expect(coolDownload.version).toBe('2026-10-06');
    expect(coolDownload.accessTierInferred).not.toBe(true);
    expect(coolDownload.accessTierChangedOn).toBeInstanceOf(Date);
    expect(await coolDownload.readableStreamBody?.read()).toBeDefined();
    const ranged = await inferred.download(0, 2);
    expect([ranged.accessTier, ranged.accessTierInferred]).toEqual(['Hot', true]);
    // A version before 2026-10-06 gets Azurite's answer as it is: no tier.
    const sasUrl = await inferred.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), expiresOn: new Date(Date.now() + 600_000) });
    const older = await fetch(sasUrl, { headers: { 'x-ms-version': '2025-11-05' } });
    expect(older.status).toBe(200);
    expect(older.headers.get('x-ms-access-tier')).toBeNull();
    expect(await older.text()).toBe('hot');
  });

  it('notices blobs in every container, not only the source container', async () => {
    const other = BlobServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getContainerClient('another');
    await other.createIfNotExists();
    await other.getBlockBlobClient('x.txt').upload('x', 1);
    await cloud.events.idle();
    expect(received.some((event) => event.subject === '/blobServices/default/containers/another/blobs/x.txt')).toBe(true);
  });
});

describe('blobs that exist before start (persisted stack restarted)', () => {
  it('are the baseline: only blobs written after start emit events', async () => {
    const persistDir = await mkdtemp(join(tmpdir(), 'local-cloud-persist-'));
    try {
      const first = await startLocalCloud({ log: () => undefined, persistDir });
      await sourceContainer(first).getBlockBlobClient('old.txt').upload('old', 3);
      await first.stop();

      const second = await startLocalCloud({ log: () => undefined, persistDir, events: { target: { handler: async () => undefined } } });
      try {
        const container = sourceContainer(second);
        expect((await container.getBlockBlobClient('old.txt').downloadToBuffer()).toString()).toBe('old');
        await container.getBlockBlobClient('new.txt').upload('new', 3);
        await second.events.idle();
        expect(second.events.delivered().map((event) => event.subject)).toEqual(['/blobServices/default/containers/source/blobs/new.txt']);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(persistDir, { recursive: true, force: true });
    }
  });
});

/** The dead-letter container a reader given DEAD_LETTER_CONTAINER_URL sees, with the account's key. */
function deadLetterContainer(cloud: LocalCloud): ContainerClient {
  const { azure, events } = cloud.stack;
  return new ContainerClient(events.deadLetterContainerUrl, new StorageSharedKeyCredential(azure.accountName, azure.accountKey));
}

/** Every dead-letter blob: its name and the JSON array it holds. */
async function deadLetterBlobs(cloud: LocalCloud): Promise<Array<{ name: string; events: Array<Record<string, unknown>> }>> {
  const container = deadLetterContainer(cloud);
  const blobs = [];
  for await (const item of container.listBlobsFlat()) {
    const events = JSON.parse((await container.getBlobClient(item.name).downloadToBuffer()).toString()) as Array<Record<string, unknown>>;
    blobs.push({ name: item.name, events });
  }
  return blobs;
}

/** `<SUBSCRIPTION NAME>/<year>/<month>/<day>/<hour>/<guid>.json`, date and hour in UTC, not zero-padded. */
const DEAD_LETTER_BLOB_NAME =
  /^LOCAL-BLOBFERRY-BACKUP\/\d{4}\/([1-9]|1[0-2])\/([1-9]|[12]\d|3[01])\/(\d|1\d|2[0-3])\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

describe('failing deliveries', () => {
  let cloud: LocalCloud;
  const logs: Array<Record<string, unknown>> = [];
  let attempts = 0;

  beforeAll(async () => {
    cloud = await startLocalCloud({
      log: (entry) => logs.push(entry),
      events: {
        maxAttempts: 3,
        // Event Grid's 10 s, 30 s, ... become 20 ms, 60 ms, ...; its 5-minute wait before a dead letter, 600 ms.
        timeScale: 0.002,
        target: {
          handler: async () => {
            attempts += 1;
            throw new Error('handler is down');
          },
        },
      },
    });
  });
  afterAll(() => cloud?.stop());

  it("are retried on Event Grid's schedule, then dead-lettered into the dead-letter container in Azure's format", async () => {
    await sourceContainer(cloud).getBlockBlobClient('doomed.txt').upload('doomed', 6);
    await cloud.events.idle();

    expect(attempts).toBe(3);
    expect(cloud.events.delivered()).toEqual([]);
    const deadLettered = required(cloud.events.deadLettered()[0], 'a dead-lettered event');
    expect(deadLettered.subject).toBe('/blobServices/default/containers/source/blobs/doomed.txt');

    const { azure, events } = cloud.stack;
    expect(events.subscriptionName).toBe('local-blobferry-backup');
    // In the host storage, not behind the blob endpoint whose writes raise events.
    expect(events.deadLetterContainerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/eventgrid-deadletter$/);
    expect(events.deadLetterContainerUrl.startsWith(azure.blobEndpoint)).toBe(false);
    const blobs = await deadLetterBlobs(cloud);
    expect(blobs.map((blob) => blob.name)).toEqual([expect.stringMatching(DEAD_LETTER_BLOB_NAME)]);
    const now = new Date();
    expect(blobs[0]?.name.split('/').slice(1, 4)).toEqual([now.getUTCFullYear(), now.getUTCMonth() + 1, now.getUTCDate()].map(String));
    const [record] = blobs[0]?.events ?? [];
    expect(blobs[0]?.events).toHaveLength(1);
    expect(record).toMatchObject({
      id: deadLettered.id,
      eventType: 'Microsoft.Storage.BlobCreated',
      deadLetterReason: 'MaxDeliveryAttemptsExceeded',
      deliveryAttempts: 3,
      lastDeliveryOutcome: 'GenericError',
      lastHttpStatusCode: 0,
      publishTime: expect.stringMatching(/Z$/),
      lastDeliveryAttemptTime: expect.stringMatching(/Z$/),
    });
    expect(Date.parse(String(record?.lastDeliveryAttemptTime))).toBeGreaterThan(Date.parse(String(record?.publishTime)));
    const [fromBlob] = await deserializer.deserializeEventGridEvents(JSON.stringify([record]));
    expect(fromBlob && isSystemEvent('Microsoft.Storage.BlobCreated', fromBlob)).toBe(true);

    const retries = logs.filter((entry) => entry.msg === 'event delivery failed; will retry');
    expect(retries.map((entry) => [entry.attempt, entry.backoffMs])).toEqual([
      [1, 20],
      [2, 60],
    ]);
    expect(logs.filter((entry) => entry.msg === 'event dead-lettered')).toHaveLength(1);
  });
});

describe('dead-lettering deliveries to the backup queue', () => {
  let cloud: LocalCloud;
  const logs: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    // 10 s, 30 s, 1 min, ... become 100 ms, 300 ms, 600 ms, ...; a 1-minute time to live, 600 ms.
    cloud = await startLocalCloud({ log: (entry) => logs.push(entry), events: { timeScale: 0.01, timeToLiveMinutes: 1 } });
  });
  afterAll(() => cloud?.stop());

  const queue = () =>
    QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getQueueClient(cloud.stack.events.queueName);

  it('dead-letters at once what the queue refuses with 403, and puts the dead letters of one moment into one blob', async () => {
    cloud.events.failNext({ status: 403, times: 2 });
    await Promise.all(['refused-1.txt', 'refused-2.txt'].map((name) => sourceContainer(cloud).getBlockBlobClient(name).upload('r', 1)));
    await cloud.events.idle();
    expect(logs.filter((entry) => entry.msg === 'event delivery failed; will retry')).toEqual([]);

    const blobs = await deadLetterBlobs(cloud);
    expect(blobs).toHaveLength(1);
    expect(
      blobs[0]?.events
        .map((event) => [
          event.subject,
          event.deadLetterReason,
          event.deliveryAttempts,
          event.lastDeliveryOutcome,
          event.lastHttpStatusCode,
        ])
        .sort(),
    ).toEqual([
      ['/blobServices/default/containers/source/blobs/refused-1.txt', 'UndeliverableDueToClientError', 1, 'Forbidden', 403],
      ['/blobServices/default/containers/source/blobs/refused-2.txt', 'UndeliverableDueToClientError', 1, 'Forbidden', 403],
    ]);
    expect((await queue().getProperties()).approximateMessagesCount).toBe(0);

    // The failure was the destination's, not the subscription's: the next event reaches the queue.
    await sourceContainer(cloud).getBlockBlobClient('delivered.txt').upload('d', 1);
    await cloud.events.idle();
    const { receivedMessageItems } = await queue().receiveMessages();
    expect(receivedMessageItems.map((item) => (JSON.parse(item.messageText) as EventGridEvent).subject)).toEqual([
      '/blobServices/default/containers/source/blobs/delivered.txt',
    ]);
    await queue().deleteMessage(
      required(receivedMessageItems[0], 'a message').messageId,
      required(receivedMessageItems[0], 'a message').popReceipt,
    );
  });

  it("retries a busy queue on Event Grid's schedule and dead-letters the event when its time to live runs out", async () => {
    const before = (await deadLetterBlobs(cloud)).length;
    const retriesBefore = logs.filter((entry) => entry.msg === 'event delivery failed; will retry').length;
    cloud.events.failNext({ status: 503, times: 3 });
    await sourceContainer(cloud).getBlockBlobClient('expired.txt').upload('e', 1);
    await cloud.events.idle();

    // Attempts at 0, 100 and 400 ms; the next would be at 1 s, after the event expired (600 ms).
    const retries = logs.filter((entry) => entry.msg === 'event delivery failed; will retry').slice(retriesBefore);
    expect(retries.map((entry) => [entry.attempt, entry.backoffMs, entry.lastDeliveryOutcome, entry.lastHttpStatusCode])).toEqual([
      [1, 100, 'Busy', 503],
      [2, 300, 'Busy', 503],
    ]);
    const blobs = await deadLetterBlobs(cloud);
    expect(blobs).toHaveLength(before + 1);
    const expired = blobs
      .flatMap((blob) => blob.events)
      .find((event) => event.subject === '/blobServices/default/containers/source/blobs/expired.txt');
    expect(expired).toMatchObject({
      deadLetterReason: 'TimeToLiveExceeded',
      deliveryAttempts: 3,
      lastDeliveryOutcome: 'Busy',
      lastHttpStatusCode: 503,
    });
    const livedMs = Date.parse(String(expired?.lastDeliveryAttemptTime)) - Date.parse(String(expired?.publishTime));
    expect(livedMs).toBeGreaterThanOrEqual(590);
    expect(livedMs).toBeLessThan(1000);
  });

  it("dead-letters the inventory subscription's events under its own name, with the same retry policy", async () => {
    const before = new Set((await deadLetterBlobs(cloud)).map((blob) => blob.name));
    cloud.events.failNext({ subscription: 'inventory', status: 403 });
    await completeInventoryRun(cloud, '2026/12/08/01-02-03');
    await cloud.events.idle();

    const added = (await deadLetterBlobs(cloud)).filter((blob) => !before.has(blob.name));
    expect(added.map((blob) => blob.name)).toEqual([
      expect.stringMatching(/^LOCAL-BLOBFERRY-INVENTORY\/\d{4}\/\d{1,2}\/\d{1,2}\/\d{1,2}\/[0-9a-f-]{36}\.json$/),
    ]);
    expect(added[0]?.events.map((event) => [event.eventType, event.deadLetterReason, event.deliveryAttempts])).toEqual([
      ['Microsoft.Storage.BlobInventoryPolicyCompleted', 'UndeliverableDueToClientError', 1],
    ]);
    // The backup subscription was not failed: the checksum's BlobCreated reached the backup queue.
    const { receivedMessageItems } = await queue().receiveMessages();
    expect(receivedMessageItems.map((item) => (JSON.parse(item.messageText) as EventGridEvent).subject)).toEqual([
      `/blobServices/default/containers/${AZURE_INVENTORY_CONTAINER}/blobs/2026/12/08/01-02-03/${AZURE_INVENTORY_RULE}/${AZURE_INVENTORY_RULE}-manifest.checksum`,
    ]);
  });
});

describe('webhook delivery', () => {
  let server: Server;
  let cloud: LocalCloud;
  const requests: Array<{ type: string | undefined; body: Array<{ eventType: string; data: { validationCode?: string } }> }> = [];
  let failNotifications = 1;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const events = JSON.parse(body) as (typeof requests)[number]['body'];
        const type = request.headers['aeg-event-type'] as string | undefined;
        requests.push({ type, body: events });
        if (type === 'SubscriptionValidation') {
          // A slow answer, so that deliveries starting meanwhile find the handshake still running.
          setTimeout(() => {
            response.writeHead(200, { 'content-type': 'application/json' });
            response.end(JSON.stringify({ validationResponse: events[0]?.data.validationCode }));
          }, 500);
          return;
        }
        if (failNotifications > 0) {
          failNotifications -= 1;
          response.writeHead(503).end();
          return;
        }
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    cloud = await startLocalCloud({
      log: () => undefined,
      events: { target: { webhookUrl: `http://127.0.0.1:${port}/runtime/webhooks/EventGrid` }, timeScale: 0.002 },
    });
  });
  afterAll(async () => {
    await cloud?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('validates the subscription once, first, then POSTs each event as a JSON array, retrying a 503', async () => {
    // Three blobs at once: their deliveries start together and must share one handshake.
    await Promise.all(
      ['hooked-1.txt', 'hooked-2.txt', 'hooked-3.txt'].map((name) => sourceContainer(cloud).getBlockBlobClient(name).upload('hook', 4)),
    );
    await cloud.events.idle();

    const types = requests.map((request) => request.type);
    expect(types[0]).toBe('SubscriptionValidation');
    expect(types.filter((type) => type === 'SubscriptionValidation')).toHaveLength(1);
    expect(types.filter((type) => type === 'Notification')).toHaveLength(4); // three events, one retried after its 503
    expect(requests[0]?.body[0]?.eventType).toBe('Microsoft.EventGrid.SubscriptionValidationEvent');
    const delivered = await deserializer.deserializeEventGridEvents(JSON.stringify(requests.at(-1)?.body));
    expect(delivered).toHaveLength(1);
    expect(delivered[0] && isSystemEvent('Microsoft.Storage.BlobCreated', delivered[0])).toBe(true);
    expect(cloud.events.delivered()).toHaveLength(3);
  });
});

describe('a webhook that does not answer the validation handshake', () => {
  it('receives no notifications; the event is dead-lettered with the handshake failure logged', async () => {
    const types: Array<string | undefined> = [];
    const server = createServer((request, response) => {
      types.push(request.headers['aeg-event-type'] as string | undefined);
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const logs: Array<Record<string, unknown>> = [];
    const cloud = await startLocalCloud({
      log: (entry) => logs.push(entry),
      events: {
        target: { webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` },
        maxAttempts: 2,
        timeScale: 0.001,
      },
    });
    try {
      await sourceContainer(cloud).getBlockBlobClient('unvalidated.txt').upload('x', 1);
      await cloud.events.idle();
      expect(types).toEqual(['SubscriptionValidation', 'SubscriptionValidation']);
      expect(cloud.events.deadLettered()).toHaveLength(1);
      expect(logs.find((entry) => entry.msg === 'event dead-lettered')?.error).toMatch(
        /subscription validation failed.*validationResponse/,
      );
    } finally {
      await cloud.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('delivery to the backup queue (endpointType StorageQueue, the default)', () => {
  let cloud: LocalCloud;

  beforeAll(async () => {
    cloud = await startLocalCloud({ log: () => undefined, events: {} });
  });
  afterAll(() => cloud?.stop());

  const queueNamed = (name: string) => QueueServiceClient.fromConnectionString(cloud.stack.azure.connectionString).getQueueClient(name);
  const queue = () => queueNamed(cloud.stack.events.queueName);
  const inventoryQueue = () => queueNamed(cloud.stack.events.inventory.queueName);

  async function drain(from: QueueClient = queue()): Promise<EventGridEvent[]> {
    const events: EventGridEvent[] = [];
    for (;;) {
      const { receivedMessageItems } = await from.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) return events;
      for (const item of receivedMessageItems) {
        // One event per message, as JSON text (not base64, not an array): what Event Grid writes.
        events.push(JSON.parse(item.messageText) as EventGridEvent);
        await from.deleteMessage(item.messageId, item.popReceipt);
      }
    }
  }

  it('writes one message per committed blob, raised by the storage operation itself', async () => {
    const container = sourceContainer(cloud);
    await container.getBlockBlobClient('queued/put.txt').upload('put', 3);
    const staged = container.getBlockBlobClient('queued/blocks.bin');
    const blockId = Buffer.from('block-1').toString('base64');
    await staged.stageBlock(blockId, Buffer.alloc(10, 7), 10);
    await cloud.events.idle();
    // A staged block is not a blob yet: nothing is announced until the block list is committed.
    expect((await drain()).map((event) => event.subject)).toEqual(['/blobServices/default/containers/source/blobs/queued/put.txt']);

    await staged.commitBlockList([blockId]);
    await container.getBlockBlobClient('queued/put.txt').setMetadata({ note: 'metadata changes raise nothing' });
    const copy = container.getBlobClient('queued/copy.txt');
    await (await copy.beginCopyFromURL(container.getBlobClient('queued/put.txt').url)).pollUntilDone();
    await container.getBlobClient('queued/put.txt').delete();
    await cloud.events.idle();

    // Event Grid delivers in no particular order: compare in subject order.
    const events = ((await drain()) as Array<EventGridEvent<{ api: string; contentLength?: number; sequencer: string; url: string }>>).sort(
      (a, b) => (a.subject < b.subject ? -1 : 1),
    );
    expect(
      events.map((event) => [
        event.eventType,
        event.data.api,
        event.subject.replace('/blobServices/default/containers/source/blobs/', ''),
        event.data.contentLength,
      ]),
    ).toEqual([
      ['Microsoft.Storage.BlobCreated', 'PutBlockList', 'queued/blocks.bin', 10],
      ['Microsoft.Storage.BlobCreated', 'CopyBlob', 'queued/copy.txt', 3],
      ['Microsoft.Storage.BlobDeleted', 'DeleteBlob', 'queued/put.txt', undefined],
    ]);
    const parsed = await deserializer.deserializeEventGridEvents(JSON.stringify(events));
    expect(parsed[2] && isSystemEvent('Microsoft.Storage.BlobDeleted', parsed[2])).toBe(true);
    expect(events[2]?.data.url).toBe(container.getBlobClient('queued/put.txt').url);
  });

  it("delivers a run's BlobInventoryPolicyCompleted into the inventory queue only, and blob events into the backup queue only", async () => {
    expect(cloud.stack.events.inventory).toEqual({
      queueName: 'blob-inventory',
      poisonQueueName: 'blob-inventory-poison',
      subscriptionName: 'local-blobferry-inventory',
    });
    // Created with the backup queue, as the Functions host needs it to start the inventory trigger.
    expect(await queueNamed(cloud.stack.events.inventory.poisonQueueName).exists()).toBe(true);

    const manifestUrl = await completeInventoryRun(cloud, '2026/12/07/15-04-05');
    await sourceContainer(cloud).getBlockBlobClient('queued/created.txt').upload('created', 7);
    await cloud.events.idle();

    const inventory = await drain(inventoryQueue());
    expect(inventory.map((event) => [event.eventType, (event.data as { manifestBlobUrl: string }).manifestBlobUrl])).toEqual([
      ['Microsoft.Storage.BlobInventoryPolicyCompleted', manifestUrl],
    ]);
    // The checksum is a blob like any other: its BlobCreated goes to the backup subscription, the run's completion does not.
    const backup = await drain();
    expect(backup.map((event) => [event.eventType, event.subject]).sort()).toEqual([
      [
        'Microsoft.Storage.BlobCreated',
        `/blobServices/default/containers/${AZURE_INVENTORY_CONTAINER}/blobs/2026/12/07/15-04-05/${AZURE_INVENTORY_RULE}/${AZURE_INVENTORY_RULE}-manifest.checksum`,
      ],
      ['Microsoft.Storage.BlobCreated', '/blobServices/default/containers/source/blobs/queued/created.txt'],
    ]);
    expect(cloud.events.delivered().filter((event) => event.eventType === 'Microsoft.Storage.BlobInventoryPolicyCompleted')).toHaveLength(
      1,
    );
  });

  it('keeps per-blob sequencers in commit order when writes to one blob race', async () => {
    const blob = sourceContainer(cloud).getBlockBlobClient('queued/raced.txt');
    const etags: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, index) => {
        const { etag } = await blob.upload(`v${index}`, 2);
        etags.push(required(etag, 'etag').replace(/"/g, ''));
      }),
    );
    await cloud.events.idle();
    const events = (await drain()) as Array<EventGridEvent<{ eTag: string; sequencer: string }>>;
    expect(events).toHaveLength(8);
    // The greatest sequencer belongs to the version that is there now.
    const newest = [...events].sort((a, b) => (a.data.sequencer < b.data.sequencer ? 1 : -1))[0];
    const current = (await blob.getProperties()).etag?.replace(/"/g, '');
    expect(newest?.data.eTag).toBe(current);
  });
});

describe('webhook delivery deadline', () => {
  it('counts an answer slower than 30 s as a failed attempt (TimedOut) and delivers the event again', async () => {
    let notifications = 0;
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const events = JSON.parse(body) as Array<{ data: { validationCode?: string } }>;
        if (request.headers['aeg-event-type'] === 'SubscriptionValidation') {
          response
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ validationResponse: events[0]?.data.validationCode }));
          return;
        }
        notifications += 1;
        // The first answer comes after 31 s, like a Function still copying a large blob.
        setTimeout(() => response.writeHead(200).end(), notifications === 1 ? 31_000 : 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const logs: Array<Record<string, unknown>> = [];
    const cloud = await startLocalCloud({
      log: (entry) => logs.push(entry),
      events: { target: { webhookUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }, timeScale: 0.001 },
    });
    try {
      await sourceContainer(cloud).getBlockBlobClient('slow-answer.txt').upload('x', 1);
      await cloud.events.idle();
      expect(notifications).toBe(2);
      expect(logs.find((entry) => entry.msg === 'event delivery failed; will retry')?.lastDeliveryOutcome).toBe('TimedOut');
      expect(cloud.events.delivered()).toHaveLength(1);
    } finally {
      await cloud.stop();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 60_000);
});
