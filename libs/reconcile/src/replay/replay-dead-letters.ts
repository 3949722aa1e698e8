import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { deadLetterPrefixOf, eventOfDeadLetter } from '@blobferry/contract';

// Event Grid's dead letters (contract dead-letter.ts): each blob under `<SUBSCRIPTION>/` holds a JSON array of
// events. Each event that still validates goes back into the backup queue as the event itself; a blob whose
// events were all enqueued is deleted (only if unchanged since it was read). A blob that is not such an
// array, or an event in it that no longer validates, is reported with its path and skipped; the other events
// of that blob are replayed, and the blob is kept for a person to look at.

export interface ReplayDeadLettersOptions {
  container: ContainerClient;
  /** The Event Grid subscription's name (EVENT_SUBSCRIPTION_NAME): its dead letters lie under it in upper case. */
  subscriptionName: string;
  backupQueue: QueueClient;
  /** Read and validate everything, enqueue and delete nothing. */
  dryRun?: boolean;
  abortSignal?: AbortSignal;
  /** Called after each dead-letter blob. */
  onProgress?: (progress: { blobs: number; events: number; skipped: number }) => void;
}

/** A dead letter left where it is, and why; `index` names the event within its blob. */
export interface SkippedDeadLetter {
  path: string;
  index?: number;
  reason: string;
}

export interface DeadLetterReplay {
  /** The container's URL (no query) and the folder read. */
  container: string;
  prefix: string;
  blobs: number;
  /** Events enqueued (with `dryRun`: that would be). */
  events: number;
  /** Blobs deleted once all their events were enqueued. */
  deletedBlobs: number;
  skipped: SkippedDeadLetter[];
}

function urlWithoutQuery(url: string): string {
  const parsed = new URL(url);
  parsed.search = '';
  return parsed.toString();
}

/** The entries of one dead-letter blob, or why it is not a dead-letter blob. */
function entriesOf(text: string): { ok: true; entries: unknown[] } | { ok: false; reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `not JSON (${(error as Error).message})` };
  }
  return Array.isArray(parsed) ? { ok: true, entries: parsed } : { ok: false, reason: 'not a JSON array of events' };
}

/** Puts the events of the subscription's dead-letter blobs back into the backup queue. */
export async function replayDeadLetters(o: ReplayDeadLettersOptions): Promise<DeadLetterReplay> {
  const { container, backupQueue, abortSignal } = o;
  const prefix = deadLetterPrefixOf(o.subscriptionName);
  const replay: DeadLetterReplay = { container: urlWithoutQuery(container.url), prefix, blobs: 0, events: 0, deletedBlobs: 0, skipped: [] };
  for await (const item of container.listBlobsFlat({ prefix, abortSignal })) {
    const path = item.name;
    const blob = container.getBlobClient(path);
    const download = await blob.download(0, undefined, { abortSignal });
    const text = (await streamText(download.readableStreamBody)).trim();
    replay.blobs += 1;
    const read = entriesOf(text);
    if (!read.ok) {
      replay.skipped.push({ path, reason: read.reason });
    } else {
      let skippedHere = 0;
      for (const [index, entry] of read.entries.entries()) {
        const event = eventOfDeadLetter(entry);
        if (!event.ok) {
          replay.skipped.push({ path, index, reason: event.reason });
          skippedHere += 1;
          continue;
        }
        if (!o.dryRun) await backupQueue.sendMessage(JSON.stringify(event.event), { messageTimeToLive: -1, abortSignal });
        replay.events += 1;
      }
      if (!o.dryRun && skippedHere === 0 && (await deleteIfUnchanged(blob, download.etag, abortSignal))) replay.deletedBlobs += 1;
    }
    o.onProgress?.({ blobs: replay.blobs, events: replay.events, skipped: replay.skipped.length });
  }
  return replay;
}

/** Deletes the blob if it is still the version read; one Event Grid rewrote meanwhile stays for the next run. */
async function deleteIfUnchanged(
  blob: ReturnType<ContainerClient['getBlobClient']>,
  etag: string | undefined,
  abortSignal: AbortSignal | undefined,
): Promise<boolean> {
  try {
    await blob.delete({ conditions: etag ? { ifMatch: etag } : {}, abortSignal });
    return true;
  } catch (error) {
    if ((error as { statusCode?: unknown }).statusCode === 412) return false;
    throw error;
  }
}

async function streamText(body: NodeJS.ReadableStream | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString('utf8');
}
