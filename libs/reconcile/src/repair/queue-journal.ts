import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

// What a backfill has enqueued, so that a run interrupted and started again does not enqueue a blob twice
// while its first message is still waiting: one JSON line per message, appended as it is sent. A blob whose
// backup landed meanwhile is in sync and never reaches the journal check. An entry older than `expiresAfterMs`
// no longer counts (its message was handled or poisoned long ago, and the blob is still not backed up).

export interface JournalEntry {
  key: string;
  etag: string;
  enqueuedAt: string;
}

export interface QueueJournal {
  /** True when this version of the key was enqueued within the expiry window. */
  holds(key: string, etag: string): boolean;
  record(key: string, etag: string): Promise<void>;
}

export interface OpenQueueJournalOptions {
  /** An entry older than this no longer counts. */
  expiresAfterMs: number;
  now?: () => number;
}

export async function openQueueJournal(path: string, o: OpenQueueJournalOptions): Promise<QueueJournal> {
  const now = o.now ?? Date.now;
  const recent = new Map<string, string>();
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry: Partial<JournalEntry>;
    try {
      entry = JSON.parse(line) as Partial<JournalEntry>;
    } catch {
      continue; // a line cut short by an interrupted run
    }
    if (typeof entry.key !== 'string' || typeof entry.etag !== 'string') continue;
    if (now() - Date.parse(entry.enqueuedAt ?? '') > o.expiresAfterMs) continue;
    recent.set(entry.key, entry.etag);
  }
  await mkdir(dirname(path), { recursive: true });
  return {
    holds: (key, etag) => recent.get(key) === etag,
    async record(key, etag) {
      recent.set(key, etag);
      const entry: JournalEntry = { key, etag, enqueuedAt: new Date(now()).toISOString() };
      await appendFile(path, `${JSON.stringify(entry)}\n`);
    },
  };
}
