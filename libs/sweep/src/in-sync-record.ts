import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { ContainerClient } from '@azure/storage-blob';
import type { ReconcileOptions } from '@blobferry/reconcile';
import { httpStatusOf } from '@blobferry/retry-policy';

// What the last listing sweep of a slice found in sync, so the next one HEADs only what changed since. Metadata
// and tag changes raise no event and S3's listing carries no metadata, so a properties sweep would HEAD every
// pair; a pair whose two listings (reconcile's listed state: the blob's ETag, time, tier, metadata, tags; the
// object's ETag, size, time) are what they were when it was proved in sync is in sync still. What changes on
// the object without a new ETag or time (its tags set directly on S3) is caught once the proof is older than
// the record's maximum age: each pair is HEADed again at least that often.
//
// One blob per slice of a container, `sweeps/in-sync/<account>/<container>/<slice>.jsonl.gz`: gzipped JSON
// lines, a header, then `[name, listedState, verifiedAtMs]` per pair. A slice is one listing page (at most
// 5,000 pairs; the sweep reads inventories at scale), so the record is read and written whole, in one request
// each; a record that inflates beyond MAX_RECORD_BYTES is refused as corrupt.

const RECORD_VERSION = 1;
/** How far ahead of this instance's clock another instance's may be, which wrote the record. */
const CLOCK_SKEW_MS = 5 * 60_000;
/** S3's listings and HEADs give times in whole seconds. */
const S3_TIME_RESOLUTION_MS = 1000;
const MAX_RECORD_BYTES = 32 * 1024 * 1024;
/** listedStateOf's digest: 22 base64url characters. */
const LISTED_STATE = /^[A-Za-z0-9_-]{22}$/;

const inflate = promisify(gunzip);
const deflate = promisify(gzip);

const inSyncRecordName = (source: string, slice: number) => `sweeps/in-sync/${source}/${String(slice).padStart(8, '0')}.jsonl.gz`;

/** A pair proved in sync: its listed state then, and when it was last HEADed (not merely vouched for by a record). */
interface InSyncEntry {
  listedState: string;
  verifiedAtMs: number;
}

interface InSyncRecordRead {
  entries: Map<string, InSyncEntry>;
  /** Why the record was not used (absent records are not a problem): every pair is then HEADed. */
  problem?: string;
}

function entryOf(line: string, nowMs: number): [string, InSyncEntry] {
  const parsed: unknown = JSON.parse(line);
  if (!Array.isArray(parsed) || parsed.length !== 3) throw new Error('an entry is not [name, listedState, verifiedAtMs]');
  const [name, listedState, verifiedAtMs] = parsed as unknown[];
  if (typeof name !== 'string' || typeof listedState !== 'string' || !LISTED_STATE.test(listedState))
    throw new Error('an entry is malformed');
  if (typeof verifiedAtMs !== 'number' || !Number.isSafeInteger(verifiedAtMs) || verifiedAtMs > nowMs + CLOCK_SKEW_MS)
    throw new Error('an entry has no plausible verification time');
  return [name, { listedState, verifiedAtMs }];
}

/**
 * The slice's record, without the entries proved longer than `maxAgeMs` ago. A missing record is empty; one
 * that cannot be read whole (not gzip, another version, a malformed line) is empty too, with its problem: no
 * entry of a damaged record is trusted.
 */
async function readInSyncRecord(
  state: ContainerClient,
  name: string,
  options: { nowMs: number; maxAgeMs: number; abortSignal?: AbortSignal | undefined },
): Promise<InSyncRecordRead> {
  let stored: Buffer;
  try {
    stored = await state.getBlobClient(name).downloadToBuffer(undefined, undefined, { abortSignal: options.abortSignal });
  } catch (error) {
    if (httpStatusOf(error) === 404) return { entries: new Map() };
    throw error;
  }
  const entries = new Map<string, InSyncEntry>();
  try {
    const [header, ...lines] = (await inflate(stored, { maxOutputLength: MAX_RECORD_BYTES })).toString('utf8').split('\n');
    if ((JSON.parse(header ?? '') as { version?: unknown }).version !== RECORD_VERSION) throw new Error(`not version ${RECORD_VERSION}`);
    for (const line of lines) {
      if (line === '') continue;
      const [blobName, entry] = entryOf(line, options.nowMs);
      if (options.nowMs - entry.verifiedAtMs <= options.maxAgeMs) entries.set(blobName, entry);
    }
  } catch (error) {
    return { entries: new Map(), problem: `${name}: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { entries };
}

/** Replaces the slice's record with the pairs this run found in sync. */
async function writeInSyncRecord(
  state: ContainerClient,
  name: string,
  entries: ReadonlyMap<string, InSyncEntry>,
  abortSignal?: AbortSignal,
): Promise<void> {
  const lines = [JSON.stringify({ version: RECORD_VERSION })];
  for (const [blobName, entry] of entries) lines.push(JSON.stringify([blobName, entry.listedState, entry.verifiedAtMs]));
  const body = await deflate(`${lines.join('\n')}\n`);
  await state.getBlockBlobClient(name).upload(body, body.length, {
    blobHTTPHeaders: { blobContentType: 'application/gzip' },
    abortSignal,
  });
}

/** What a listing slice's record of its last run saved it. */
export interface InSyncRecordFindings {
  /** Pairs counted in sync without a HEAD: listed as they were when proved in sync. */
  headsSkippedByRecord: number;
  /** Why the record could not be used (every pair was HEADed). */
  inSyncRecordProblem?: string;
}

export interface OpenInSyncRecordOptions {
  state: ContainerClient;
  /** `account/container`. */
  source: string;
  slice: number;
  /** How long a pair's proof holds before it is HEADed again. */
  maxAgeMs: number;
  /** Objects written at or after this time are not recorded (S3 lists the same bytes written again in the same second alike). */
  settledBeforeMs: number;
  abortSignal?: AbortSignal | undefined;
}

export interface SliceInSyncRecord {
  /** What reconcile asks of the record, and tells it. */
  reconcile: Required<Pick<ReconcileOptions, 'provedInSyncBefore' | 'onInSync'>>;
  /** Replaces the record with what this run found in sync. */
  save(): Promise<InSyncRecordFindings>;
}

/** The slice's record of its last run, for one run of the slice. */
export async function openInSyncRecord(options: OpenInSyncRecordOptions): Promise<SliceInSyncRecord> {
  const { state, abortSignal } = options;
  const nowMs = Date.now();
  const name = inSyncRecordName(options.source, options.slice);
  const before = await readInSyncRecord(state, name, { nowMs, maxAgeMs: options.maxAgeMs, abortSignal });
  const found = new Map<string, InSyncEntry>();
  let headsSkippedByRecord = 0;
  return {
    reconcile: {
      provedInSyncBefore(blobName, listedState) {
        const proved = before.entries.get(blobName)?.listedState === listedState;
        if (proved) headsSkippedByRecord += 1;
        return proved;
      },
      onInSync(blobName, listedState, { target }) {
        if (target.lastModified.getTime() >= options.settledBeforeMs - S3_TIME_RESOLUTION_MS) return;
        const earlier = before.entries.get(blobName);
        // Vouched for by the record, a pair keeps the time it was last HEADed: the maximum age bounds every proof.
        found.set(blobName, { listedState, verifiedAtMs: earlier?.listedState === listedState ? earlier.verifiedAtMs : nowMs });
      },
    },
    async save() {
      await writeInSyncRecord(state, name, found, abortSignal);
      return { headsSkippedByRecord, ...(before.problem ? { inSyncRecordProblem: before.problem } : {}) };
    },
  };
}
