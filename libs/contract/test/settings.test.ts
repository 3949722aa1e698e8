import { describe, expect, it } from 'vitest';
import { isSourceAllowed, parseBackupSettings, SETTING_NAMES } from '../src/index.js';

const required = {
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/blobferry-backup',
  AWS_REGION: 'eu-west-1',
  BACKUP_BUCKET: 'my-backups',
  ALLOWED_SOURCES: 'photosacct/photos, logsacct/*',
  STATE_CONTAINER_URL: 'https://hostaccount.blob.core.windows.net/blobferry-state',
  SWEEP_SCHEDULE: '0 0 */6 * * *',
};

describe('parseBackupSettings', () => {
  it('applies documented defaults', () => {
    const result = parseBackupSettings(required);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.AZURE_CLIENT_ID).toBeUndefined();
    expect(result.config).toMatchObject({
      BACKUP_PREFIX: '',
      TOKEN_AUDIENCE: 'api://blobferry-backup',
      KEY_LAYOUT: 'account/container/blob',
      PART_SIZE: 8 * 1024 * 1024,
      CONCURRENCY: 4,
      DELETE_POLICY: 'retain',
      S3_FORCE_PATH_STYLE: false,
      S3_CHECKSUM: 'CRC32',
      S3_CONDITIONAL_WRITES: true,
      ALLOWED_SOURCES: [
        { account: 'photosacct', container: 'photos' },
        { account: 'logsacct', container: '*' },
      ],
    });
  });

  it('reads units, booleans and optional overrides', () => {
    const result = parseBackupSettings({
      ...required,
      PART_SIZE: '16MiB',
      CONCURRENCY: '8',
      S3_FORCE_PATH_STYLE: 'true',
      AZURE_CLIENT_ID: '',
      KEY_LAYOUT: 'blob',
      S3_CHECKSUM: 'none',
      S3_CONDITIONAL_WRITES: 'false',
    });
    expect(result.ok && result.config).toMatchObject({
      PART_SIZE: 16 * 1024 * 1024,
      CONCURRENCY: 8,
      S3_FORCE_PATH_STYLE: true,
      KEY_LAYOUT: 'blob',
      S3_CHECKSUM: 'none',
      S3_CONDITIONAL_WRITES: false,
    });
    // An app setting deployed as '' counts as unset: system-assigned identity.
    expect(result.ok && result.config.AZURE_CLIENT_ID).toBeUndefined();
  });

  it('names every missing required setting', () => {
    const result = parseBackupSettings({});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const name of ['AWS_ROLE_ARN', 'AWS_REGION', 'BACKUP_BUCKET', 'ALLOWED_SOURCES']) {
      expect(result.errors.some((error) => error.startsWith(`${name}:`))).toBe(true);
    }
  });

  it('explains invalid values by setting name without echoing secrets', () => {
    const result = parseBackupSettings({
      ...required,
      AWS_ROLE_ARN: 'role/blobferry',
      PART_SIZE: '1MiB',
      DELETE_POLICY: 'purge',
      S3_CHECKSUM: 'MD5',
      S3_CONDITIONAL_WRITES: 'yes',
      ALLOWED_SOURCES: 'Not An Account',
      S3_ENDPOINT: 'AccountKey=supersecretkey',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.errors.join('\n');
    expect(text).toMatch(/^AWS_ROLE_ARN: expected arn:aws:iam::/m);
    expect(text).toMatch(/^PART_SIZE: S3 parts must be at least 5 MiB/m);
    expect(text).toMatch(/^DELETE_POLICY: expected one of retain, delete-marker/m);
    expect(text).toMatch(/^S3_CHECKSUM: expected one of CRC32, CRC32C, none/m);
    expect(text).toMatch(/^S3_CONDITIONAL_WRITES: expected true or false/m);
    expect(text).toMatch(/^ALLOWED_SOURCES: "Not An Account" is not "account\/container"/m);
    expect(text).toMatch(/^S3_ENDPOINT:/m);
    expect(text).not.toContain('supersecretkey');
  });

  it('lists every setting the schema reads (the infra drift test relies on it)', () => {
    const everySetting = Object.fromEntries(SETTING_NAMES.map((name) => [name, 'x']));
    // Every listed name is read: an invalid value for each one is reported by name (or accepted).
    const result = parseBackupSettings(everySetting);
    const named = result.ok ? [] : result.errors.map((error) => error.split(':')[0]);
    expect(named.every((name) => (SETTING_NAMES as readonly string[]).includes(name ?? ''))).toBe(true);
    expect(new Set(SETTING_NAMES).size).toBe(SETTING_NAMES.length);
  });
});

describe('isSourceAllowed', () => {
  const result = parseBackupSettings(required);
  if (!result.ok) throw new Error(result.errors.join('; '));
  it('admits listed containers and whole accounts, nothing else', () => {
    expect(isSourceAllowed(result.config, 'photosacct', 'photos')).toBe(true);
    expect(isSourceAllowed(result.config, 'PhotosAcct', 'photos')).toBe(true);
    expect(isSourceAllowed(result.config, 'photosacct', 'private')).toBe(false);
    expect(isSourceAllowed(result.config, 'logsacct', 'anything')).toBe(true);
    expect(isSourceAllowed(result.config, 'otheracct', 'photos')).toBe(false);
  });
});

describe('the settings of the sweep, the retries and the storage classes', () => {
  it('applies their defaults', () => {
    const result = parseBackupSettings(required);
    expect(result.ok && result.config).toMatchObject({
      SWEEP_EVENT_LAG: 15 * 60_000,
      RETRY_DELAYS: [30_000, 60_000, 120_000, 300_000],
      STORAGE_CLASS_BY_TIER: {},
    });
  });

  it('reads durations, a tier mapping and the dead-letter pair', () => {
    const result = parseBackupSettings({
      ...required,
      SWEEP_EVENT_LAG: '2m',
      RETRY_DELAYS: '1s, 500ms,1h',
      STORAGE_CLASS_BY_TIER: 'Cool=STANDARD_IA, Archive=DEEP_ARCHIVE',
      DEAD_LETTER_CONTAINER_URL: 'https://hostaccount.blob.core.windows.net/eventgrid-deadletter',
      EVENT_SUBSCRIPTION_NAME: 'prod-blobferry-backup',
    });
    expect(result.ok ? result.config : result.errors).toMatchObject({
      SWEEP_EVENT_LAG: 120_000,
      RETRY_DELAYS: [1000, 500, 3_600_000],
      STORAGE_CLASS_BY_TIER: { Cool: 'STANDARD_IA', Archive: 'DEEP_ARCHIVE' },
    });
  });

  it('refuses a bad schedule, tier mapping, delay or half a dead-letter pair, naming the setting', () => {
    const result = parseBackupSettings({
      ...required,
      SWEEP_SCHEDULE: '*/5 * * * *',
      STORAGE_CLASS_BY_TIER: 'Cool=GLACIER_DEEP,Lukewarm=STANDARD',
      RETRY_DELAYS: '30,1m',
      EVENT_SUBSCRIPTION_NAME: 'prod-blobferry-backup',
      STATE_CONTAINER_URL: 'not a url',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const text = result.errors.join('\n');
    expect(text).toMatch(/^SWEEP_SCHEDULE: expected NCRONTAB's six fields .* \(got 5\)/m);
    expect(text).toMatch(/^STORAGE_CLASS_BY_TIER: "Cool=GLACIER_DEEP" is not <tier>=<storage class>/m);
    expect(text).toMatch(/^STORAGE_CLASS_BY_TIER: "Lukewarm=STANDARD" is not/m);
    expect(text).toMatch(/^RETRY_DELAYS: "30" is not a duration: list delays such as "30s,1m,2m,5m"/m);
    expect(text).toMatch(/^STATE_CONTAINER_URL: expected the URL of the state container/m);
    const halfPair = parseBackupSettings({ ...required, EVENT_SUBSCRIPTION_NAME: 'prod-blobferry-backup' });
    expect(halfPair.ok ? [] : halfPair.errors).toEqual([
      expect.stringMatching(/^DEAD_LETTER_CONTAINER_URL: DEAD_LETTER_CONTAINER_URL and EVENT_SUBSCRIPTION_NAME go together/),
    ]);
    const badField = parseBackupSettings({ ...required, SWEEP_SCHEDULE: '0 0 25 * * *' });
    expect(badField.ok ? [] : badField.errors).toEqual([expect.stringMatching(/^SWEEP_SCHEDULE: not a valid NCRONTAB schedule/)]);
  });
});

describe('the settings of the inventory sweep', () => {
  it('lists both sides when neither report is named, and reads the reports when both are', () => {
    const listing = parseBackupSettings(required);
    expect(listing.ok && listing.config).toMatchObject({ INVENTORY_MAX_AGE: 48 * 3_600_000 });
    expect(listing.ok && listing.config.INVENTORY_AZURE).toBeUndefined();
    const result = parseBackupSettings({
      ...required,
      INVENTORY_AZURE: 'blobferry-inventory/blobferry',
      INVENTORY_S3: 's3://my-backups-inventory/inventory/my-backups/blobferry/',
      INVENTORY_MAX_AGE: '30h',
      INVENTORY_WORK_DIRECTORY: '/mounts/inventory',
    });
    expect(result.ok ? result.config : result.errors).toMatchObject({
      INVENTORY_AZURE: { container: 'blobferry-inventory', rule: 'blobferry' },
      INVENTORY_S3: { bucket: 'my-backups-inventory', prefix: 'inventory/my-backups/blobferry/' },
      INVENTORY_MAX_AGE: 30 * 3_600_000,
      INVENTORY_WORK_DIRECTORY: '/mounts/inventory',
    });
  });

  it('refuses malformed locations, a bad age and half a pair, naming the setting', () => {
    const result = parseBackupSettings({
      ...required,
      INVENTORY_AZURE: 'blobferry-inventory',
      INVENTORY_S3: 's3://my-backups-inventory/inventory/my-backups/blobferry',
      INVENTORY_MAX_AGE: '2 days',
    });
    const text = result.ok ? '' : result.errors.join('\n');
    expect(text).toMatch(/^INVENTORY_AZURE: expected <destination container>\/<rule name>/m);
    expect(text).toMatch(
      /^INVENTORY_S3: expected s3:\/\/<reports bucket>\/<destination prefix>\/<backup bucket>\/<configuration id>\/ \(ending in \/\)/m,
    );
    expect(text).toMatch(/^INVENTORY_MAX_AGE: expected a duration such as 30s, 5m or 2h/m);
    const halfPair = parseBackupSettings({ ...required, INVENTORY_AZURE: 'blobferry-inventory/blobferry' });
    expect(halfPair.ok ? [] : halfPair.errors).toEqual([
      expect.stringMatching(/^INVENTORY_S3: INVENTORY_AZURE and INVENTORY_S3 go together/),
    ]);
  });
});
