import { describe, expect, it } from 'vitest';
import { createTally, terminalLine } from '../dev/terminal-lines.js';

const o = { maxDequeueCount: 5 };

describe("npm start's terminal lines", () => {
  it('says what happened to each event in one line: backed up, skipped and why, failed and when it is retried', () => {
    expect(terminalLine({ event: 'backupBlob', outcome: 'copied', key: 'acct/c/a.txt', bytes: 12, durationMs: 40 }, o)).toBe(
      'backed up   acct/c/a.txt  12 bytes in 40 ms',
    );
    expect(
      terminalLine({ event: 'backupBlob', outcome: 'refused', eventId: 'e1', reason: 'source x/y is not in ALLOWED_SOURCES' }, o),
    ).toBe('skipped     e1: source x/y is not in ALLOWED_SOURCES');
    expect(
      terminalLine(
        {
          event: 'backupBlob',
          outcome: 'will-retry',
          url: 'http://h/c/b',
          attempt: 2,
          cause: 'S3: 403 AccessDenied',
          nextAttempt: 3,
          retryInMs: 60_000,
        },
        o,
      ),
    ).toBe('RETRY       http://h/c/b (attempt 2): S3: 403 AccessDenied (attempt 3 in 60 s)');
    expect(
      terminalLine(
        { event: 'backupBlob', outcome: 'failed-unclassified', url: 'http://h/c/b', dequeueCount: 2, reason: 'TypeError: x' },
        o,
      ),
    ).toBe('FAILED      http://h/c/b (dequeued 2 of 5 times): TypeError: x (will be retried)');
    expect(
      terminalLine(
        { event: 'backupBlob', outcome: 'failed-unclassified', url: 'http://h/c/b', dequeueCount: 5, reason: 'TypeError: x' },
        o,
      ),
    ).toMatch(/last attempt: goes to the poison queue/);
    expect(terminalLine({ event: 'backupBlob', outcome: 'failed-permanent', key: 'k', reason: 'key too long' }, o)).toMatch(
      /^FAILED {6}k: key too long \(permanent/,
    );
    expect(
      terminalLine(
        {
          source: 'host',
          msg: "Message has reached MaxDequeueCount of 5. Moving message to queue 'blob-events-poison'.",
          messageId: 'm1',
          dequeueCount: 5,
          reason: 'AccessDenied',
        },
        o,
      ),
    ).toBe('POISONED    message m1 after 5 attempts: AccessDenied');
  });

  it('escapes control characters in names, so every event stays on one line', () => {
    expect(terminalLine({ event: 'backupBlob', outcome: 'copied', key: 'a\tb\nc', bytes: 1, durationMs: 2 }, o)).toBe(
      'backed up   a\\tb\\nc  1 bytes in 2 ms',
    );
  });

  it('shows one-time setup a user waits for', () => {
    expect(terminalLine({ msg: 'installing moto server into a venv (first run only, takes about a minute)', setup: true }, o)).toBe(
      'setup       installing moto server into a venv (first run only, takes about a minute)',
    );
  });

  it('keeps quiet about entries that are not news (host chatter, successful deliveries)', () => {
    expect(terminalLine({ source: 'host', level: 'information', msg: 'message deleted' }, o)).toBeUndefined();
    expect(terminalLine({ msg: 'webhook subscription validated' }, o)).toBeUndefined();
  });

  it('sums the outcomes up for the Ctrl-C summary', () => {
    const tally = createTally();
    expect(tally.summary()).toBe('no events handled');
    for (const outcome of ['copied', 'copied', 'refused']) tally.count({ event: 'backupBlob', outcome });
    tally.count({ msg: 'Message has reached MaxDequeueCount of 5. Moving message to queue x.' });
    expect(tally.summary()).toBe('2 copied, 1 refused, 1 poisoned');
  });
});
