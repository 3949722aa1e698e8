import { describe, expect, it } from 'vitest';
import { parseHostJson, readHostJson } from '../src/index.js';

describe('host.json', () => {
  it("applies the runtime's defaults when extensions.queues is absent", () => {
    expect(parseHostJson({ version: '2.0' })).toEqual({
      functionTimeoutMs: undefined,
      queues: {
        batchSize: 16,
        newBatchThreshold: 8,
        maxDequeueCount: 5,
        visibilityTimeoutMs: 0,
        maxPollingIntervalMs: 60_000,
        messageEncoding: 'base64',
      },
      singleton: { listenerLockPeriodMs: 60_000, listenerLockRecoveryPollingIntervalMs: 60_000 },
    });
  });

  it("reads the singleton locks' periods within a blob lease's bounds (15 to 60 s)", () => {
    expect(
      parseHostJson({ version: '2.0', singleton: { listenerLockPeriod: '00:00:15', listenerLockRecoveryPollingInterval: '00:00:02' } })
        .singleton,
    ).toEqual({ listenerLockPeriodMs: 15_000, listenerLockRecoveryPollingIntervalMs: 2000 });
    expect(() => parseHostJson({ version: '2.0', singleton: { listenerLockPeriod: '00:00:10' } })).toThrow(
      /singleton\.listenerLockPeriod: a blob lease lasts at least 00:00:15/,
    );
    expect(() => parseHostJson({ version: '2.0', singleton: { listenerLockPeriod: '00:02:00' } })).toThrow(
      /singleton\.listenerLockPeriod: a blob lease lasts at most 00:01:00/,
    );
  });

  it('reads TimeSpans (hh:mm:ss, d.hh:mm:ss, fractions) and -1 as an unbounded functionTimeout', () => {
    const parsed = parseHostJson({
      version: '2.0',
      functionTimeout: '1.02:03:04',
      extensions: { queues: { visibilityTimeout: '00:00:30', maxPollingInterval: '00:00:02.5', messageEncoding: 'none', batchSize: 8 } },
    });
    expect(parsed.functionTimeoutMs).toBe(((26 * 60 + 3) * 60 + 4) * 1000);
    expect(parsed.queues).toMatchObject({
      visibilityTimeoutMs: 30_000,
      maxPollingIntervalMs: 2500,
      messageEncoding: 'none',
      batchSize: 8,
      newBatchThreshold: 4,
    });
    expect(parseHostJson({ version: '2.0', functionTimeout: '-1' }).functionTimeoutMs).toBeUndefined();
  });

  it('names the setting that is wrong', () => {
    expect(() => parseHostJson({ version: '1.0' })).toThrow(/version.*"version": "2.0"/);
    expect(() => parseHostJson({ version: '2.0', extensions: { queues: { batchSize: 64 } } })).toThrow(/extensions\.queues\.batchSize/);
    expect(() => parseHostJson({ version: '2.0', extensions: { queues: { visibilityTimeout: '30s' } } }, 'my/host.json')).toThrow(
      /my\/host\.json is not valid: extensions\.queues\.visibilityTimeout: expected a TimeSpan/,
    );
  });

  it("reads the backup function's committed host.json", async () => {
    const committed = await readHostJson(new URL('../../../apps/backup-function/host.json', import.meta.url).pathname);
    expect(committed.queues.messageEncoding).toBe('none');
    expect(committed.functionTimeoutMs).toBeUndefined();
  });
});
