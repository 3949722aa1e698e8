import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backupFunctionSettings, type Stack } from '@blobferry/local-cloud';
import { isSourceAllowed, loadConfig, QUEUE_CONNECTION, QUEUE_NAME_SETTING, SETTING_NAMES } from '../src/config.js';

const required = {
  AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/blobferry-backup',
  AWS_REGION: 'eu-west-1',
  BACKUP_BUCKET: 'my-backups',
  ALLOWED_SOURCES: 'photosacct/photos, logsacct/*',
};

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const result = loadConfig(required);
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
    const result = loadConfig({
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
    const result = loadConfig({});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    for (const name of ['AWS_ROLE_ARN', 'AWS_REGION', 'BACKUP_BUCKET', 'ALLOWED_SOURCES']) {
      expect(result.errors.some((error) => error.startsWith(`${name}:`))).toBe(true);
    }
  });

  it('explains invalid values by setting name without echoing secrets', () => {
    const result = loadConfig({
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
    const result = loadConfig(everySetting);
    const named = result.ok ? [] : result.errors.map((error) => error.split(':')[0]);
    expect(named.every((name) => (SETTING_NAMES as readonly string[]).includes(name ?? ''))).toBe(true);
    expect(new Set(SETTING_NAMES).size).toBe(SETTING_NAMES.length);
  });

  it('documents every setting in the app README\'s configuration table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(SETTING_NAMES.filter((name) => !readme.includes(`| \`${name}\` |`))).toEqual([]);
  });

  it("accepts every setting the local cloud gives it, and the local cloud gives only settings someone reads", () => {
    const stack = {
      azure: { accountName: 'devstoreaccount1', sourceContainer: 'source', connectionString: 'UseDevelopmentStorage=true' },
      aws: {
        roleArn: 'arn:aws:iam::000000000000:role/blobferry-backup',
        region: 'us-east-1',
        bucket: 'blobferry-backup',
        prefix: '',
        stsEndpoint: 'http://127.0.0.1:4599',
        s3Endpoint: 'http://127.0.0.1:4568',
        s3Features: { checksum: 'none', conditionalWrites: false },
      },
      identity: {
        audience: 'api://blobferry-backup',
        backupIdentity: { clientId: 'c0ffee00-0000-4000-8000-000000000001' },
        identityEndpoint: 'http://127.0.0.1:4600/msi/token',
        identityHeader: 'header',
      },
      events: { queueName: 'blob-events' },
    } as unknown as Stack;
    const settings = backupFunctionSettings(stack);
    // Read by the Functions runtime (the trigger's connection and queue name) or by @azure/identity.
    const readElsewhere = [QUEUE_CONNECTION, QUEUE_NAME_SETTING, 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER'];
    expect(Object.keys(settings).filter((name) => !(SETTING_NAMES as readonly string[]).includes(name) && !readElsewhere.includes(name))).toEqual([]);
    const result = loadConfig(settings);
    expect(result.ok ? result.config : result.errors).toMatchObject({ S3_CHECKSUM: 'none', S3_CONDITIONAL_WRITES: false, ALLOWED_SOURCES: [{ account: 'devstoreaccount1', container: 'source' }] });
  });
});

describe('isSourceAllowed', () => {
  const result = loadConfig(required);
  if (!result.ok) throw new Error(result.errors.join('; '));
  it('admits listed containers and whole accounts, nothing else', () => {
    expect(isSourceAllowed(result.config, 'photosacct', 'photos')).toBe(true);
    expect(isSourceAllowed(result.config, 'PhotosAcct', 'photos')).toBe(true);
    expect(isSourceAllowed(result.config, 'photosacct', 'private')).toBe(false);
    expect(isSourceAllowed(result.config, 'logsacct', 'anything')).toBe(true);
    expect(isSourceAllowed(result.config, 'otheracct', 'photos')).toBe(false);
  });
});
