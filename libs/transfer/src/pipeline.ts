import pLimit from 'p-limit';

export interface PartRange {
  /** 1-based, as S3 numbers parts. */
  partNumber: number;
  offset: number;
  count: number;
}

export function splitIntoParts(length: number, partSize: number): PartRange[] {
  const parts: PartRange[] = [];
  for (let offset = 0, partNumber = 1; offset < length; offset += partSize, partNumber++) {
    parts.push({ partNumber, offset, count: Math.min(partSize, length - offset) });
  }
  return parts;
}

/**
 * Part buffers of `size` bytes that a pipeline hands back once it is done with their bytes, so it holds at
 * most `concurrency` of them: a fresh 8 MiB buffer per part costs the kernel's page faults to map it and
 * V8's full collections to free it. `readInto` lends one to a read and yields both, the buffer for
 * `giveBack` and the bytes read into it. Only a buffer no request still holds may be given back.
 */
export function reusableBuffers(size: number): {
  readInto(read: (buffer: Buffer) => Promise<Buffer>): Promise<{ buffer: Buffer; data: Buffer }>;
  giveBack(buffer: Buffer): void;
} {
  const spare: Buffer[] = [];
  return {
    readInto: async (read) => {
      const buffer = spare.pop() ?? Buffer.allocUnsafe(size);
      return { buffer, data: await read(buffer) };
    },
    giveBack: (buffer) => void spare.push(buffer),
  };
}

interface Turn {
  promise: Promise<void>;
  done: () => void;
}

function turn(): Turn {
  let done: (() => void) | undefined;
  const promise = new Promise<void>((resolve) => (done = resolve));
  return { promise, done: () => done?.() };
}

/**
 * Reads parts concurrently, hands each one to `consumeInOrder` strictly in part order (for hashes that
 * must see the bytes in sequence), then to `process` (for example an upload) concurrently. What a read
 * yields is the part's bytes, or anything else the caller makes of them while they stream (a range's CRC).
 *
 * Memory: at most `concurrency` parts are held at once, because a part's buffer lives only inside its
 * p-limit slot and no slot starts reading before one frees up. Nothing reads ahead of the slots.
 *
 * The first failure stops everything: in-flight requests are aborted, queued parts return without
 * reading, and that first error is rethrown once every slot has settled (so the caller can clean up
 * knowing no request is still running).
 */
export async function pipelineParts<T = Buffer>(options: {
  parts: PartRange[];
  concurrency: number;
  abortSignal: AbortSignal | undefined;
  read: (part: PartRange, abortSignal: AbortSignal) => Promise<T>;
  consumeInOrder: (part: PartRange, data: T) => void;
  process?: (part: PartRange, data: T, abortSignal: AbortSignal) => Promise<void>;
}): Promise<void> {
  const failFast = new AbortController();
  const abortSignal = options.abortSignal ? AbortSignal.any([options.abortSignal, failFast.signal]) : failFast.signal;
  const consumed = options.parts.map(() => turn());
  let failure: { error: unknown } | undefined;
  const limit = pLimit(options.concurrency);

  const runPart = async (index: number, part: PartRange) => {
    try {
      if (abortSignal.aborted) return;
      const data = await options.read(part, abortSignal);
      if (index > 0) await consumed[index - 1]?.promise;
      if (abortSignal.aborted) return;
      options.consumeInOrder(part, data);
      consumed[index]?.done();
      await options.process?.(part, data, abortSignal);
    } catch (error) {
      if (!failure) {
        failure = { error };
        failFast.abort(error);
      }
    } finally {
      // Also on failure, so later parts waiting for their turn wake up, see the abort and leave.
      consumed[index]?.done();
    }
  };

  await Promise.all(options.parts.map((part, index) => limit(() => runPart(index, part))));
  if (failure) throw failure.error;
  options.abortSignal?.throwIfAborted();
}
