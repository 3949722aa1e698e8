// `npm start`'s terminal view: one readable line per thing a user cares about (a backup, a skip, a failure
// and when it is retried, a message moved to the poison queue), from the structured log entries of
// the Function, the Functions host and the local cloud. `--json` prints the entries themselves instead.

export interface Tally {
  count(entry: Record<string, unknown>): void;
  summary(): string;
}

const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
const seconds = (ms: unknown) => (typeof ms === 'number' ? `${ms / 1000} s` : '?');

/** The key (or URL) with control characters escaped, so a name with a tab or newline stays on its line. */
function where(entry: Record<string, unknown>): string {
  const name = text(entry.key) || text(entry.url) || text(entry.eventId) || 'an event';
  return [...name]
    .map((character) => (character < ' ' || character === '\u007f' ? JSON.stringify(character).slice(1, -1) : character))
    .join('');
}

export interface TerminalLineOptions {
  maxDequeueCount: number;
}

/** The line for one entry, or undefined for entries that are not news to a user. */
export function terminalLine(entry: Record<string, unknown>, o: TerminalLineOptions): string | undefined {
  if (entry.event === 'backupBlob') {
    const dequeued = typeof entry.dequeueCount === 'number' ? ` (dequeued ${entry.dequeueCount} of ${o.maxDequeueCount} times)` : '';
    switch (entry.outcome) {
      case 'copied':
        return `backed up   ${where(entry)}  ${text(entry.bytes)} bytes in ${text(entry.durationMs)} ms`;
      case 'skipped-up-to-date':
        return `up to date  ${where(entry)}  (this version is already backed up)`;
      case 'skipped-newer-in-target':
        return `kept newer  ${where(entry)}  (S3 holds a newer version than this event's)`;
      case 'refused':
        return `skipped     ${where(entry)}: ${text(entry.reason)}`;
      case 'failed-permanent':
        return `FAILED      ${where(entry)}: ${text(entry.reason)} (permanent: acknowledged, not retried)`;
      case 'will-retry':
        return `RETRY       ${where(entry)} (attempt ${text(entry.attempt)}): ${text(entry.cause)} (attempt ${text(entry.nextAttempt)} in ${seconds(entry.retryInMs)})`;
      case 'failed-unclassified':
      case 'requeue-failed': {
        const last = typeof entry.dequeueCount === 'number' && entry.dequeueCount >= o.maxDequeueCount;
        return `FAILED      ${where(entry)}${dequeued}: ${text(entry.reason)} ${last ? '(last attempt: goes to the poison queue)' : '(will be retried)'}`;
      }
      case 'renamed':
        return `renamed     ${text(entry.renamedFrom)} -> ${where(entry)}: ${text(entry.copy)}, old name ${text(entry.delete)}`;
      case 'directory-renamed':
        return `renamed     directory ${text(entry.renamedFrom)} -> ${where(entry)}: ${JSON.stringify(entry.copies)}, old names ${JSON.stringify(entry.deletes)}`;
      case 'directory-deleted':
        return `delete      directory ${where(entry)}: ${JSON.stringify(entry.deletes)}`;
      default:
        return `delete      ${where(entry)}: ${text(entry.outcome)}`;
    }
  }
  if (typeof entry.msg === 'string' && entry.msg.startsWith('Message has reached MaxDequeueCount')) {
    return `POISONED    message ${text(entry.messageId)} after ${text(entry.dequeueCount)} attempts: ${text(entry.reason)}`;
  }
  // One-time setup a user waits for (the first start installs moto).
  if (entry.setup === true) return `setup       ${text(entry.msg)}`;
  if (entry.msg === 'event dead-lettered')
    return `DEAD-LETTER event for ${text(entry.subject)}: ${text(entry.error)} (${text(entry.deadLetterReason)} after ${text(entry.deliveryAttempts)} attempts)`;
  if (entry.source === 'supervisor') return `host        ${text(entry.msg)}${entry.error ? `: ${text(entry.error)}` : ''}`;
  if (entry.level === 'error')
    return `error       ${text(entry.msg) || text(entry.message) || text(entry.problem)}${entry.error ? `: ${text(entry.error)}` : ''}`;
  return undefined;
}

export function createTally(): Tally {
  const counts = new Map<string, number>();
  const bump = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  return {
    count(entry) {
      if (entry.event === 'backupBlob' && typeof entry.outcome === 'string') bump(entry.outcome);
      else if (typeof entry.msg === 'string' && entry.msg.startsWith('Message has reached MaxDequeueCount')) bump('poisoned');
    },
    summary() {
      if (counts.size === 0) return 'no events handled';
      return [...counts].map(([name, count]) => `${count} ${name}`).join(', ');
    },
  };
}
