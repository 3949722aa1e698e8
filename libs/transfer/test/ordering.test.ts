import { describe, expect, it } from 'vitest';
import { BACKUP_METADATA } from '@blobferry/contract';
import { compareSequencers, isDeleteStale, judge, normalizeSequencer, recordedSourceOf, type RecordedSource } from '../src/ordering.js';

const record = (fields: Partial<RecordedSource> = {}): RecordedSource => ({
  etag: undefined,
  lastModified: undefined,
  md5Base64: undefined,
  sequencer: undefined,
  blobType: undefined,
  creationTime: undefined,
  accessTier: undefined,
  inSidecar: [],
  metadata: {},
  ...fields,
});

describe('normalizeSequencer', () => {
  it('lower-cases hex and refuses anything else', () => {
    expect(normalizeSequencer('00000000000000000000000000017A9B')).toBe('00000000000000000000000000017a9b');
    expect(normalizeSequencer('0ff')).toBe('0ff');
    expect(normalizeSequencer('')).toBeUndefined();
    expect(normalizeSequencer('12-34')).toBeUndefined();
    expect(normalizeSequencer('0x12')).toBeUndefined();
    expect(normalizeSequencer(42)).toBeUndefined();
    expect(normalizeSequencer(undefined)).toBeUndefined();
  });
});

describe('compareSequencers', () => {
  it('orders hex sequencers numerically, whatever their width', () => {
    expect(compareSequencers('000a', '0009')).toBe(1);
    expect(compareSequencers('a', '000a')).toBe(0);
    expect(compareSequencers('00000000000000000000000000000100', 'ff')).toBe(1);
    expect(compareSequencers('ff', '0100')).toBe(-1);
    expect(compareSequencers('0001', '0001')).toBe(0);
  });

  it('orders mixed-case input once it is normalised where it enters', () => {
    const upper = normalizeSequencer('0FF') ?? '';
    expect(compareSequencers(upper, '100')).toBe(-1);
    expect(compareSequencers(normalizeSequencer('A') ?? '', '0009')).toBe(1);
    expect(compareSequencers(normalizeSequencer('00AB') ?? '', 'ab')).toBe(0);
  });
});

describe('recordedSourceOf', () => {
  it('decodes values and normalises the recorded sequencer', () => {
    const recorded = recordedSourceOf({
      [BACKUP_METADATA.sourceEtag]: '=?UTF-8?B?MHg4REMw?=',
      [BACKUP_METADATA.sourceLastModified]: '2024-05-01T10:00:00.000Z',
      [BACKUP_METADATA.sourceMd5]: 'md5==',
      [BACKUP_METADATA.sequencer]: '00000000000000000000000000017A9B',
    });
    expect(recorded).toEqual(
      record({
        etag: '0x8DC0',
        lastModified: new Date('2024-05-01T10:00:00Z'),
        md5Base64: 'md5==',
        sequencer: '00000000000000000000000000017a9b',
      }),
    );
  });

  it('reads nothing from missing or unusable metadata', () => {
    expect(recordedSourceOf(undefined)).toEqual(record());
    expect(recordedSourceOf({ [BACKUP_METADATA.sequencer]: 'not-hex', [BACKUP_METADATA.sourceLastModified]: 'garbage' })).toEqual(record());
  });
});

describe('judge', () => {
  const source = { etag: '"e2"', lastModified: new Date('2024-05-01T10:00:00Z'), sequencer: undefined as string | undefined };
  const target = (recorded: Partial<RecordedSource>) => ({ s3Etag: '"s3"', recorded: record(recorded) });

  it('copies when there is no object or the object records nothing', () => {
    expect(judge({ s3Etag: undefined, recorded: undefined }, source)).toBe('copy');
    expect(judge({ s3Etag: undefined, recorded: record({ etag: 'e2' }) }, source)).toBe('copy');
    expect(judge(target({}), source)).toBe('copy');
  });

  it('skips the same ETag, quoted or not', () => {
    expect(judge(target({ etag: 'e2' }), source)).toBe('skipped-up-to-date');
    expect(judge(target({ etag: 'e2', sequencer: '0002' }), { ...source, sequencer: '0001' })).toBe('skipped-up-to-date');
  });

  it('prefers sequencers when both sides know them', () => {
    const older = new Date('2020-01-01T00:00:00Z');
    const newer = new Date('2030-01-01T00:00:00Z');
    expect(
      judge(target({ etag: 'e3', sequencer: '0000000000000002', lastModified: older }), { ...source, sequencer: '0000000000000001' }),
    ).toBe('skipped-newer-in-target');
    expect(
      judge(target({ etag: 'e1', sequencer: '0000000000000001', lastModified: newer }), { ...source, sequencer: '0000000000000002' }),
    ).toBe('copy');
    expect(judge(target({ etag: 'e1', sequencer: 'ff' }), { ...source, sequencer: '0100' })).toBe('copy');
    expect(judge(target({ etag: 'e1', sequencer: '0005' }), { ...source, sequencer: '5' })).toBe('copy');
  });

  it('compares a sequencer read back upper-case from S3 with a normalised event sequencer', () => {
    const recorded = recordedSourceOf({ [BACKUP_METADATA.sourceEtag]: 'e3', [BACKUP_METADATA.sequencer]: '00FF' });
    expect(judge({ s3Etag: '"s3"', recorded }, { ...source, sequencer: normalizeSequencer('00fe') })).toBe('skipped-newer-in-target');
    expect(judge({ s3Etag: '"s3"', recorded }, { ...source, sequencer: normalizeSequencer('0100') })).toBe('copy');
  });

  it('falls back to Last-Modified when a side has no sequencer; a tie goes to the copy', () => {
    expect(judge(target({ etag: 'e3', lastModified: new Date('2024-05-01T10:00:01Z') }), source)).toBe('skipped-newer-in-target');
    expect(judge(target({ etag: 'e3', sequencer: '0001', lastModified: new Date('2024-05-01T10:00:01Z') }), source)).toBe(
      'skipped-newer-in-target',
    );
    expect(judge(target({ etag: 'e1', lastModified: new Date('2024-05-01T09:59:59Z') }), { ...source, sequencer: '0009' })).toBe('copy');
    expect(judge(target({ etag: 'e1', lastModified: source.lastModified }), source)).toBe('copy');
  });
});

describe('isDeleteStale', () => {
  const deletedAt = '2024-05-01T10:00:00Z';

  it('lets the sequencers decide when both are known', () => {
    expect(isDeleteStale(record({ sequencer: '0002' }), { sequencer: '0001' })).toBe(true);
    expect(isDeleteStale(record({ sequencer: '0001' }), { sequencer: '0002' })).toBe(false);
    expect(isDeleteStale(record({ sequencer: '0002' }), { sequencer: '0002' })).toBe(false);
    expect(isDeleteStale(record({ sequencer: 'ff' }), { sequencer: '0100' })).toBe(false);
    // The sequencer wins over times that say the opposite.
    expect(
      isDeleteStale(record({ sequencer: '0001', lastModified: new Date('2030-01-01T00:00:00Z') }), {
        sequencer: '0002',
        eventTime: deletedAt,
      }),
    ).toBe(false);
    expect(
      isDeleteStale(record({ sequencer: '0002', lastModified: new Date('2020-01-01T00:00:00Z') }), {
        sequencer: '0001',
        eventTime: deletedAt,
      }),
    ).toBe(true);
  });

  it('reads the sequencer S3 holds through recordedSourceOf, whatever its case', () => {
    expect(isDeleteStale(recordedSourceOf({ [BACKUP_METADATA.sequencer]: '000B' }), { sequencer: '000a' })).toBe(true);
    expect(isDeleteStale(recordedSourceOf({ [BACKUP_METADATA.sequencer]: '000A' }), { sequencer: '000b' })).toBe(false);
  });

  it('falls back to the recorded Last-Modified against the event time', () => {
    expect(isDeleteStale(record({ lastModified: new Date('2024-05-01T10:00:01Z') }), { eventTime: deletedAt })).toBe(true);
    expect(isDeleteStale(record({ lastModified: new Date('2024-05-01T09:59:59Z') }), { eventTime: deletedAt })).toBe(false);
    expect(isDeleteStale(record({ lastModified: new Date(deletedAt) }), { eventTime: deletedAt })).toBe(false);
    expect(isDeleteStale(record({ lastModified: new Date('2024-05-01T10:00:01Z') }), { eventTime: new Date(deletedAt) })).toBe(true);
    // Only one side has a sequencer: the times decide.
    expect(isDeleteStale(record({ sequencer: '0001', lastModified: new Date('2024-05-01T10:00:01Z') }), { eventTime: deletedAt })).toBe(
      true,
    );
    expect(isDeleteStale(record({ lastModified: new Date('2024-05-01T10:00:01Z') }), { sequencer: '0009', eventTime: deletedAt })).toBe(
      true,
    );
  });

  it('is not stale when the evidence is missing', () => {
    expect(isDeleteStale(undefined, { sequencer: '0001', eventTime: deletedAt })).toBe(false);
    expect(isDeleteStale(record(), { sequencer: '0001', eventTime: deletedAt })).toBe(false);
    expect(isDeleteStale(record({ lastModified: new Date('2024-05-01T10:00:01Z') }), {})).toBe(false);
    expect(isDeleteStale(record({ lastModified: new Date('2024-05-01T10:00:01Z') }), { eventTime: 'not a time' })).toBe(false);
    expect(isDeleteStale(record({ sequencer: '0002' }), { eventTime: deletedAt })).toBe(false);
  });
});
