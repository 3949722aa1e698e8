import { describe, expect, it } from 'vitest';
import { parseBackupSettings } from '@blobferry/contract';
import {
  BLOB_CREATED,
  BLOB_DELETED,
  BLOB_RENAMED,
  BLOB_TIER_CHANGED,
  DIRECTORY_DELETED,
  DIRECTORY_RENAMED,
  validateBlobEvent,
} from '../src/validate-event.js';

const settings = parseBackupSettings({
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/r',
  AWS_REGION: 'eu-west-1',
  BACKUP_BUCKET: 'b-bucket',
  ALLOWED_SOURCES: 'srcacct/photos,devstoreaccount1/*',
  STATE_CONTAINER_URL: 'https://hostaccount.blob.core.windows.net/blobferry-state',
  SWEEP_SCHEDULE: '0 0 */6 * * *',
});
if (!settings.ok) throw new Error(settings.errors.join('; '));
const config = settings.config;

function created(overrides: Record<string, unknown> = {}, data: Record<string, unknown> = {}) {
  return {
    id: 'evt-1',
    topic: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/srcacct',
    subject: '/blobServices/default/containers/photos/blobs/2024/cat 😺.jpg',
    eventType: BLOB_CREATED,
    eventTime: '2026-01-01T00:00:00Z',
    data: {
      api: 'PutBlob',
      eTag: '0x8DC0',
      contentLength: 42,
      url: 'https://srcacct.blob.core.windows.net/photos/2024/cat%20%F0%9F%98%BA.jpg',
      sequencer: '0000000000000000000000000000a1b2',
      ...data,
    },
    dataVersion: '',
    metadataVersion: '1',
    ...overrides,
  };
}

function reasonOf(event: unknown): string {
  const result = validateBlobEvent(event, config);
  if (result.ok) throw new Error('expected a refusal');
  return result.reason;
}

describe('validateBlobEvent', () => {
  it('accepts a BlobCreated event with a unicode blob name', () => {
    const result = validateBlobEvent(created(), config);
    expect(result).toMatchObject({
      ok: true,
      event: {
        kind: 'created',
        eventId: 'evt-1',
        contentLength: 42,
        sequencer: '0000000000000000000000000000a1b2',
        blob: { account: 'srcacct', container: 'photos', blobName: '2024/cat 😺.jpg' },
      },
    });
  });

  it('accepts path-style (Azurite) URLs of an allowed account, and BlobDeleted without a size', () => {
    const event = created(
      { eventType: BLOB_DELETED, topic: undefined, subject: '/blobServices/default/containers/any/blobs/a.txt' },
      { url: 'http://127.0.0.1:10000/devstoreaccount1/any/a.txt', contentLength: undefined },
    );
    expect(validateBlobEvent(event, config)).toMatchObject({ ok: true, event: { kind: 'deleted', contentLength: undefined } });
  });

  it('accepts events whose optional fields are absent, as JSON from a queue message carries them', () => {
    // JSON drops undefined: a BlobDeleted has no data.contentLength, a backfill message (libs/reconcile's
    // backfillEvent) no data.sequencer and no topic.
    const deleted = JSON.parse(
      JSON.stringify(
        created({ eventType: BLOB_DELETED, topic: undefined }, { contentLength: undefined, sequencer: undefined, eTag: undefined }),
      ),
    ) as Record<string, unknown>;
    expect(Object.keys(deleted.data as object)).not.toContain('contentLength');
    expect(validateBlobEvent(deleted, config)).toMatchObject({
      ok: true,
      event: { kind: 'deleted', contentLength: undefined, sequencer: undefined },
    });
    const backfill = JSON.parse(
      JSON.stringify(
        created({ topic: undefined, eventTime: undefined }, { api: 'BlobferryBackfill', backfill: true, sequencer: undefined }),
      ),
    );
    expect(validateBlobEvent(backfill, config)).toMatchObject({
      ok: true,
      event: { kind: 'created', contentLength: 42, sequencer: undefined, eventTime: undefined },
    });
  });

  it('normalises the sequencer where the event enters: lower-case hex, anything else dropped', () => {
    const sequencerOf = (sequencer: unknown) => {
      const result = validateBlobEvent(created({}, { sequencer }), config);
      return result.ok ? result.event.sequencer : 'refused';
    };
    expect(sequencerOf('0000000000000000000000000000A1B2')).toBe('0000000000000000000000000000a1b2');
    expect(sequencerOf('not-hex')).toBeUndefined();
    expect(sequencerOf(42)).toBeUndefined();
    expect(sequencerOf(undefined)).toBeUndefined();
  });

  it('strips the query (a SAS) from the URL it reports', () => {
    const result = validateBlobEvent(
      created({}, { url: 'https://srcacct.blob.core.windows.net/photos/2024/cat%20%F0%9F%98%BA.jpg?sv=1&sig=SECRET' }),
      config,
    );
    expect(result.ok && result.event.blob.url).toBe('https://srcacct.blob.core.windows.net/photos/2024/cat%20%F0%9F%98%BA.jpg');
  });

  it.each([
    ['not an object', 'hello', /not a JSON object/],
    ['an array', [created()], /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['an empty id', created({ id: '' }), /no id/],
    ['no type', created({ eventType: undefined }), /unsupported eventType "undefined"/],
    ['no id', created({ id: undefined }), /no id/],
    [
      'wrong type',
      created({ eventType: 'Microsoft.Storage.DirectoryCreated' }),
      /unsupported eventType "Microsoft.Storage.DirectoryCreated"/,
    ],
    ['no data', created({ data: undefined }), /no data object/],
    ['data an array', created({ data: [] }), /no data object/],
    ['url not a string', created({}, { url: 42 }), /data.url is missing/],
    ['no subject', created({ subject: undefined }), /the event has no subject/],
    ['no url', created({}, { url: undefined }), /data.url is missing/],
    ['not a blob url', created({}, { url: 'ftp://example.com/x' }), /data.url is not a blob URL/],
    [
      'another account',
      created({ topic: undefined }, { url: 'https://intruder.blob.core.windows.net/photos/2024/cat%20%F0%9F%98%BA.jpg' }),
      /intruder\/photos is not in ALLOWED_SOURCES/,
    ],
    [
      'topic of another account',
      created({ topic: '/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/other' }),
      /topic names storage account other/,
    ],
    [
      'disallowed container',
      created({ subject: '/blobServices/default/containers/private/blobs/x' }, { url: 'https://srcacct.blob.core.windows.net/private/x' }),
      /srcacct\/private is not in ALLOWED_SOURCES/,
    ],
    [
      'subject/url mismatch',
      created({ subject: '/blobServices/default/containers/photos/blobs/other.jpg' }),
      /subject and data.url name different blobs/,
    ],
    ['bad subject', created({ subject: '/containers/photos' }), /subject is not/],
    ['negative size', created({}, { contentLength: -1 }), /contentLength -1 is not a plausible blob size/],
    ['string size', created({}, { contentLength: '42' }), /contentLength "42"/],
    ['fractional size', created({}, { contentLength: 1.5 }), /contentLength 1.5/],
    ['absurd size', created({}, { contentLength: 1e300 }), /not a plausible blob size/],
  ])('refuses %s with a reason', (_name, event, reason) => {
    expect(reasonOf(event)).toMatch(reason);
  });

  it('never echoes a SAS in a refusal', () => {
    const reason = reasonOf(created({ topic: undefined }, { url: 'https://intruder.blob.core.windows.net/photos/x?sig=TOPSECRET' }));
    expect(reason).not.toContain('TOPSECRET');
    expect(reasonOf(created({}, { url: 'ftp://example.com/x?sig=TOPSECRET' }))).not.toContain('TOPSECRET');
    expect(
      reasonOf(created({ subject: '/containers/photos' }, { url: 'https://srcacct.blob.core.windows.net/photos/x?sig=TOPSECRET' })),
    ).not.toContain('TOPSECRET');
  });

  it('names the first wrong field, in the order they are checked, and the event it refused', () => {
    expect(validateBlobEvent(created({ eventType: 'Other', data: undefined }), config)).toEqual({
      ok: false,
      eventId: 'evt-1',
      reason: expect.stringMatching(/unsupported eventType "Other"/) as unknown,
    });
    expect(reasonOf(created({ id: undefined, eventType: 'Other' }))).toMatch(/no id/);
    expect(reasonOf(created({ subject: undefined }, { url: 'ftp://example.com/x' }))).toMatch(/data.url is not a blob URL/);
    expect(
      reasonOf(
        created(
          { topic: undefined },
          { url: 'https://intruder.blob.core.windows.net/photos/2024/cat%20%F0%9F%98%BA.jpg', contentLength: -1 },
        ),
      ),
    ).toMatch(/not in ALLOWED_SOURCES/);
    expect(validateBlobEvent(created({ id: 7 }), config)).toMatchObject({ ok: false, eventId: undefined, reason: 'the event has no id' });
  });

  it('ignores optional fields of the wrong type instead of refusing the event', () => {
    const result = validateBlobEvent(created({ topic: 42, eventTime: 1 }, { eTag: false, sequencer: { hex: 'a1' } }), config);
    expect(result).toMatchObject({ ok: true, event: { eventTime: undefined, eTag: undefined, sequencer: undefined } });
    expect(validateBlobEvent(created(), config)).toMatchObject({ ok: true, event: { eventTime: '2026-01-01T00:00:00Z', eTag: '0x8DC0' } });
  });
});

// Data Lake Storage Gen2 events, field for field as the Event Grid blob storage schema's samples show them:
// hierarchical-namespace operations name the account's dfs endpoint.
function hierarchical(eventType: string, subjectName: string, data: Record<string, unknown>) {
  return {
    topic: '/subscriptions/s/resourceGroups/Storage/providers/Microsoft.Storage/storageAccounts/srcacct',
    subject: `/blobServices/default/containers/photos/blobs/${subjectName}`,
    eventType,
    eventTime: '2017-06-26T18:41:00.9584103Z',
    id: '831e1650-001e-001b-66ab-eeb76e069631',
    data: {
      clientRequestId: '6d79dbfb-0e37-4fc4-981f-442c9ca65760',
      requestId: '831e1650-001e-001b-66ab-eeb76e000000',
      sequencer: '00000000000004420000000000028963',
      storageDiagnostics: { batchId: 'b68529f3-68cd-4744-baa4-3c0498ec19f0' },
      ...data,
    },
    dataVersion: '1',
    metadataVersion: '1',
  };
}

describe('validateBlobEvent: renames, directories and tiers', () => {
  it('reads a BlobRenamed: the new name from destinationUrl (the subject), the old from sourceUrl, dfs URLs as blob URLs', () => {
    const event = hierarchical(BLOB_RENAMED, 'my-renamed-file.txt', {
      api: 'RenameFile',
      destinationUrl: 'https://srcacct.dfs.core.windows.net/photos/my-renamed-file.txt',
      sourceUrl: 'https://srcacct.dfs.core.windows.net/photos/my-original-file.txt',
    });
    expect(validateBlobEvent(event, config)).toMatchObject({
      ok: true,
      event: {
        kind: 'renamed',
        blob: {
          account: 'srcacct',
          container: 'photos',
          blobName: 'my-renamed-file.txt',
          url: 'https://srcacct.blob.core.windows.net/photos/my-renamed-file.txt',
        },
        renamedFrom: { blobName: 'my-original-file.txt', url: 'https://srcacct.blob.core.windows.net/photos/my-original-file.txt' },
        allowed: { blob: true, renamedFrom: true },
        sequencer: '00000000000004420000000000028963',
      },
    });
  });

  it('reads a DirectoryRenamed and a recursive DirectoryDeleted', () => {
    const renamed = hierarchical(DIRECTORY_RENAMED, 'my-renamed-directory', {
      api: 'RenameDirectory',
      destinationUrl: 'https://srcacct.dfs.core.windows.net/photos/my-renamed-directory',
      sourceUrl: 'https://srcacct.dfs.core.windows.net/photos/my-original-directory',
    });
    expect(validateBlobEvent(renamed, config)).toMatchObject({
      ok: true,
      event: { kind: 'directory-renamed', blob: { blobName: 'my-renamed-directory' }, renamedFrom: { blobName: 'my-original-directory' } },
    });
    const deleted = hierarchical(DIRECTORY_DELETED, 'directory-to-delete', {
      api: 'DeleteDirectory',
      url: 'https://srcacct.dfs.core.windows.net/photos/directory-to-delete',
      recursive: 'true',
    });
    expect(validateBlobEvent(deleted, config)).toMatchObject({
      ok: true,
      event: { kind: 'directory-deleted', blob: { blobName: 'directory-to-delete' }, renamedFrom: undefined },
    });
  });

  it('reads a BlobTierChanged, whose size is optional', () => {
    const tier = created({ eventType: BLOB_TIER_CHANGED }, { api: 'SetBlobTier', contentLength: 105891 });
    expect(validateBlobEvent(tier, config)).toMatchObject({ ok: true, event: { kind: 'tier-changed', contentLength: 105891 } });
    const withoutSize = created({ eventType: BLOB_TIER_CHANGED }, { api: 'SetBlobTier', contentLength: undefined });
    expect(validateBlobEvent(withoutSize, config)).toMatchObject({ ok: true, event: { kind: 'tier-changed', contentLength: undefined } });
  });

  it('takes a rename out of or into an allowed container, and refuses one between containers it may not touch', () => {
    const rename = (from: string, to: string) =>
      hierarchical(BLOB_RENAMED, 'b.txt', {
        destinationUrl: `https://srcacct.dfs.core.windows.net/${to}/b.txt`,
        sourceUrl: `https://srcacct.dfs.core.windows.net/${from}/a.txt`,
      });
    const withSubject = (event: ReturnType<typeof rename>, container: string) => ({
      ...event,
      subject: `/blobServices/default/containers/${container}/blobs/b.txt`,
    });
    expect(validateBlobEvent(withSubject(rename('photos', 'private'), 'private'), config)).toMatchObject({
      ok: true,
      event: { allowed: { blob: false, renamedFrom: true } },
    });
    expect(validateBlobEvent(rename('private', 'photos'), config)).toMatchObject({
      ok: true,
      event: { allowed: { blob: true, renamedFrom: false } },
    });
    expect(reasonOf(withSubject(rename('private', 'secret'), 'secret'))).toMatch(
      /source srcacct\/private \(renamed to srcacct\/secret\) is not in ALLOWED_SOURCES/,
    );
  });

  it.each([
    ['no destinationUrl', { sourceUrl: 'https://srcacct.dfs.core.windows.net/photos/a.txt' }, /data.destinationUrl is missing/],
    ['no sourceUrl', { destinationUrl: 'https://srcacct.dfs.core.windows.net/photos/b.txt' }, /data.sourceUrl is missing/],
    [
      'a destination the subject does not name',
      {
        destinationUrl: 'https://srcacct.dfs.core.windows.net/photos/c.txt',
        sourceUrl: 'https://srcacct.dfs.core.windows.net/photos/a.txt',
      },
      /subject and data.destinationUrl name different blobs/,
    ],
  ])('refuses a rename with %s', (_name, data, reason) => {
    expect(reasonOf(hierarchical(BLOB_RENAMED, 'b.txt', data))).toMatch(reason);
  });
});
