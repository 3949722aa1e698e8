import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogLines } from '../src/log-lines.js';

function collector() {
  const writes: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { out, writes };
}

describe('the host log', () => {
  it('writes the lines of a moment together, one JSON object per line, in order', async () => {
    const { out, writes } = collector();
    const { log } = createLogLines(out);
    log({ msg: 'one' });
    log({ msg: 'two', n: 2 });
    expect(writes).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(writes).toHaveLength(1);
    const lines = (writes[0] ?? '')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line['msg'])).toEqual(['one', 'two']);
    expect(lines[1]).toMatchObject({ n: 2, pid: process.pid });
    expect(Number.isNaN(Date.parse(String(lines[0]?.['time'])))).toBe(false);
  });

  it('writes at once when a line would hold back too much', () => {
    const { out, writes } = collector();
    const { log, flush } = createLogLines(out);
    log({ msg: 'x'.repeat(40 * 1024) });
    expect(writes).toHaveLength(1);
    log({ msg: 'held' });
    flush();
    expect(writes).toHaveLength(2);
  });
});
