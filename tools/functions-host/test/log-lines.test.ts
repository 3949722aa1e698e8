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
    log({ source: 'function', msg: 'one' });
    log({ source: 'function', msg: 'two', n: 2 });
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
    log({ source: 'function', msg: 'x'.repeat(40 * 1024) });
    expect(writes).toHaveLength(1);
    log({ source: 'function', msg: 'held' });
    flush();
    expect(writes).toHaveLength(2);
  });

  it("writes the host's own lines at once, after the function's lines held before them", () => {
    const { out, writes } = collector();
    const { log } = createLogLines(out);
    log({ source: 'function', msg: 'copied' });
    expect(writes).toEqual([]);
    log({ source: 'host', msg: 'Moving message to the poison queue' });
    expect(writes).toHaveLength(1);
    expect(
      (writes[0] ?? '')
        .trimEnd()
        .split('\n')
        .map((line) => (JSON.parse(line) as { msg: string }).msg),
    ).toEqual(['copied', 'Moving message to the poison queue']);
  });
});
