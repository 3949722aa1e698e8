import type { IncomingMessage } from 'node:http';

/** A request's whole body, refused with `tooLarge()` past `limit` bytes (the emulators' small control bodies). */
export async function readRequestBody(request: IncomingMessage, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
