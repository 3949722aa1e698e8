// Packs items, in the order they come, into batches under three caps (contract's BATCH_MAX_ENTRIES,
// BATCH_MAX_BYTES, QUEUE_MESSAGE_MAX_BYTES): pure bookkeeping, with no queue and no clock.

export interface BatchLimits {
  maxEntries: number;
  /** Total blob bytes: an item at or over it is a batch of its own. */
  maxBytes: number;
  /** The batch's message, encoded as the queue counts it. */
  maxMessageBytes: number;
}

export interface PackedItemSize {
  /** The blob's bytes. */
  bytes: number;
  /** The item's share of the encoded message (its JSON text, escaped), not counting the separator. */
  messageBytes: number;
}

/** What an item costs beside the others in the message: the comma between two entries of a JSON array. */
const SEPARATOR_BYTES = 1;

export class BatchPacker<T> {
  private items: T[] = [];
  private bytes = 0;
  private messageBytes: number;

  /** `envelopeBytes`: the encoded message with no entries. */
  constructor(
    private readonly limits: BatchLimits,
    private readonly envelopeBytes: number,
  ) {
    this.messageBytes = envelopeBytes;
  }

  get pending(): number {
    return this.items.length;
  }

  /** Adds an item; returns the batches it closed (the one it did not fit in, and its own when that is full). */
  add(item: T, size: PackedItemSize): T[][] {
    if (this.envelopeBytes + size.messageBytes > this.limits.maxMessageBytes) {
      throw new Error(
        `a queue message of one entry would take ${this.envelopeBytes + size.messageBytes} bytes, over ${this.limits.maxMessageBytes}`,
      );
    }
    const closed: T[][] = [];
    const closeOpen = () => {
      const batch = this.drain();
      if (batch) closed.push(batch);
    };
    const fits =
      this.items.length < this.limits.maxEntries &&
      this.bytes + size.bytes <= this.limits.maxBytes &&
      this.messageBytes + SEPARATOR_BYTES + size.messageBytes <= this.limits.maxMessageBytes;
    if (!fits) closeOpen();
    this.messageBytes += (this.items.length > 0 ? SEPARATOR_BYTES : 0) + size.messageBytes;
    this.bytes += size.bytes;
    this.items.push(item);
    if (this.items.length >= this.limits.maxEntries || this.bytes >= this.limits.maxBytes) closeOpen();
    return closed;
  }

  /** The open batch, closed now; undefined when it is empty. */
  drain(): T[] | undefined {
    if (this.items.length === 0) return undefined;
    const batch = this.items;
    this.items = [];
    this.bytes = 0;
    this.messageBytes = this.envelopeBytes;
    return batch;
  }
}
