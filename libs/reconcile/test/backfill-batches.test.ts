import { QueueClient } from '@azure/storage-queue';
import {
  backfillBatchSchema,
  backfillMessage,
  BATCH_MAX_BYTES,
  BATCH_MAX_ENTRIES,
  QUEUE_MESSAGE_MAX_BYTES,
  queueMessageBytes,
  type BackfillMessage,
} from '@blobferry/contract';
import type { LocalCloud } from '@blobferry/local-cloud';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfillBatches, BACKFILL_BATCH_LIMITS } from '../src/repair/backfill-batches.js';
import { BatchPacker } from '../src/repair/batch-packer.js';
import { startCloud } from './support/local-cloud.js';

const GiB = 1024 ** 3;

function entry(name: string, size: number): BackfillMessage {
  return backfillMessage({
    container: 'estate',
    blobUrl: `https://acct.blob.core.windows.net/estate/${name.split('/').map(encodeURIComponent).join('/')}`,
    blob: { name, etag: '"0x8D4BCC2E4835CD0"', lastModified: new Date('2026-12-01T00:00:00Z'), size },
  });
}

/** Packs items of the given sizes with the contract's caps; returns the batches as lists of item indexes. */
function pack(sizes: Array<{ bytes: number; messageBytes: number }>): number[][] {
  const packer = new BatchPacker<number>(BACKFILL_BATCH_LIMITS, 100);
  const batches = sizes.flatMap((size, index) => packer.add(index, size));
  const last = packer.drain();
  return last ? [...batches, last] : batches;
}

describe('batch caps', () => {
  it('closes a batch at the count cap', () => {
    const batches = pack(Array.from({ length: 2 * BATCH_MAX_ENTRIES + 3 }, () => ({ bytes: 10, messageBytes: 500 })));
    expect(batches.map((batch) => batch.length)).toEqual([BATCH_MAX_ENTRIES, BATCH_MAX_ENTRIES, 3]);
    expect(batches.flat()).toEqual(Array.from({ length: 2 * BATCH_MAX_ENTRIES + 3 }, (_, index) => index));
  });

  it('closes a batch at the bytes cap, and a blob over it (5 TiB) is a batch of its own', () => {
    const quarter = BATCH_MAX_BYTES / 4;
    const batches = pack([
      { bytes: quarter, messageBytes: 500 },
      { bytes: quarter, messageBytes: 500 },
      { bytes: quarter, messageBytes: 500 },
      { bytes: quarter + 1, messageBytes: 500 }, // would pass the cap: starts the next batch
      { bytes: 5 * 1024 * GiB, messageBytes: 500 },
      { bytes: 1, messageBytes: 500 },
      { bytes: quarter, messageBytes: 500 },
      { bytes: 3 * quarter - 1, messageBytes: 500 }, // reaches the cap exactly: closes it
      { bytes: 0, messageBytes: 500 },
    ]);
    expect(batches).toEqual([[0, 1, 2], [3], [4], [5, 6, 7], [8]]);
  });

  it('closes a batch before its encoded message passes 64 KiB, and refuses an entry too large alone', () => {
    const batches = pack(Array.from({ length: 10 }, () => ({ bytes: 1, messageBytes: 20_000 })));
    // 100 (envelope) + 3 x 20,000 + 2 commas fits in 65,536; a fourth does not.
    expect(batches.map((batch) => batch.length)).toEqual([3, 3, 3, 1]);
    const packer = new BatchPacker<number>(BACKFILL_BATCH_LIMITS, 100);
    expect(() => packer.add(0, { bytes: 1, messageBytes: QUEUE_MESSAGE_MAX_BYTES })).toThrow(/over 65536/);
  });

  it("counts a message's size as Put Message does: UTF-8, with XML's escapes", () => {
    expect(queueMessageBytes('abc')).toBe(3);
    expect(queueMessageBytes('ü🚀')).toBe(2 + 4);
    expect(queueMessageBytes('"a&b<c>\'')).toBe(6 + 1 + 5 + 1 + 4 + 1 + 4 + 6);
  });
});

describe('batch messages in a real queue (Azurite)', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => cloud?.stop());

  async function received(queue: QueueClient): Promise<string[]> {
    const texts: string[] = [];
    for (;;) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
      if (receivedMessageItems.length === 0) return texts;
      texts.push(...receivedMessageItems.map((item) => item.messageText));
    }
  }

  async function freshQueue(): Promise<QueueClient> {
    const queue = new QueueClient(cloud.stack.azure.connectionString, `q${randomUUID().replaceAll('-', '')}`);
    await queue.create();
    return queue;
  }

  it('sends long names in batches that stay under 64 KiB encoded, every entry once, each send settled when its message is in', async () => {
    const queue = await freshQueue();
    const batches = backfillBatches({ queue, lingerMs: 20 });
    // Names of 1,024 characters, many of them escaped in JSON, XML and the URL: few fit in one message.
    const names = Array.from({ length: 50 }, (_, index) => `${index}/${'ü&"<'.repeat(250)}`.slice(0, 1024));
    const sent = await Promise.all(names.map((name) => batches.send(entry(name, 1)).then(() => name)));
    expect(sent).toEqual(names);

    const texts = await received(queue);
    const entries = texts.flatMap((text) => {
      expect(queueMessageBytes(text)).toBeLessThanOrEqual(QUEUE_MESSAGE_MAX_BYTES);
      return backfillBatchSchema.parse(JSON.parse(text)).entries;
    });
    expect(entries.map((message) => message.subject.split('/blobs/')[1]).sort()).toEqual([...names].sort());
    expect(texts.length).toBeGreaterThan(50 / BATCH_MAX_ENTRIES + 1);
    expect(texts.length).toBeLessThan(50);
  });

  it('sends a batch that is not full once no more entries come', async () => {
    const queue = await freshQueue();
    const batches = backfillBatches({ queue, lingerMs: 20 });
    await Promise.all([batches.send(entry('a.txt', 3)), batches.send(entry('b.txt', 4))]);
    const texts = await received(queue);
    expect(texts.map((text) => backfillBatchSchema.parse(JSON.parse(text)).entries.map((message) => message.data.contentLength))).toEqual([
      [3, 4],
    ]);
  });

  it('fails every send of a batch the queue refuses', async () => {
    const missing = new QueueClient(cloud.stack.azure.connectionString, `q${randomUUID().replaceAll('-', '')}`);
    const batches = backfillBatches({ queue: missing, lingerMs: 20 });
    const sends = [batches.send(entry('a.txt', 1)), batches.send(entry('b.txt', 1))];
    for (const send of sends) await expect(send).rejects.toMatchObject({ statusCode: 404 });
  });
});
