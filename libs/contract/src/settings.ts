import { z } from 'zod';
import { KEY_LAYOUTS } from './key-layouts.js';

/** The full-object checksums a backup can write (S3_CHECKSUM), and `none` for a store that refuses both. */
export const S3_CHECKSUMS = ['CRC32', 'CRC32C', 'none'] as const;
export type S3Checksum = (typeof S3_CHECKSUMS)[number];

/**
 * Every app setting the Function reads. infra/bicep's drift test compares this list with the
 * settings the template deploys, so a setting added here must be added there too.
 */
export const SETTING_NAMES = [
  'AWS_ROLE_ARN',
  'AWS_REGION',
  'BACKUP_BUCKET',
  'BACKUP_PREFIX',
  'TOKEN_AUDIENCE',
  'AZURE_CLIENT_ID',
  'ALLOWED_SOURCES',
  'KEY_LAYOUT',
  'PART_SIZE',
  'CONCURRENCY',
  'DELETE_POLICY',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'AWS_STS_ENDPOINT',
  'S3_ENDPOINT',
  'S3_FORCE_PATH_STYLE',
  'S3_CHECKSUM',
  'S3_CONDITIONAL_WRITES',
  'AZURE_STORAGE_CONNECTION_STRING',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];

export const DELETE_POLICIES = ['retain', 'delete-marker'] as const;

const MIB = 1024 * 1024;
/** S3's own bounds for a part (the last part may be smaller). */
const MIN_PART_SIZE = 5 * MIB;
const MAX_PART_SIZE = 5 * 1024 * MIB;

/** One entry of ALLOWED_SOURCES: `account/container`, or `account/*` for every container of an account. */
export interface AllowedSource {
  account: string;
  container: string | '*';
}

const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();

const byteSize = z
  .string()
  .trim()
  .regex(/^\d+\s*(KiB|MiB|GiB)?$/i, 'expected a number of bytes, optionally with KiB, MiB or GiB (e.g. 8MiB)')
  .transform((text) => {
    const match = /^(\d+)\s*(KiB|MiB|GiB)?$/i.exec(text);
    const unit = match?.[2]?.toLowerCase();
    const factor = unit === 'kib' ? 1024 : unit === 'mib' ? MIB : unit === 'gib' ? 1024 * MIB : 1;
    return Number(match?.[1]) * factor;
  })
  .pipe(z.number().min(MIN_PART_SIZE, 'S3 parts must be at least 5 MiB').max(MAX_PART_SIZE, 'S3 parts must be at most 5 GiB'));

const allowedSources = z
  .string()
  .trim()
  .min(1, 'list the sources to back up, e.g. "mystorageaccount/photos,otheraccount/*"')
  .transform((text, ctx) => {
    const entries: AllowedSource[] = [];
    for (const raw of text
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean)) {
      const match = /^([a-z0-9]{3,24})\/([a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?|\$root|\*)$/.exec(raw);
      if (!match) {
        ctx.addIssue({
          code: 'custom',
          message: `"${raw}" is not "account/container" or "account/*" (lower-case storage account and container names)`,
        });
        continue;
      }
      entries.push({ account: match[1] as string, container: match[2] as string });
    }
    return entries;
  });

const booleanText = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const settingsSchema = z.object({
  AWS_ROLE_ARN: z
    .string({ error: 'required: the ARN of the role the Function assumes (output RoleArn of infra/aws-iam)' })
    .trim()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected arn:aws:iam::<12-digit account>:role/<name>'),
  AWS_REGION: z
    .string({ error: 'required: the AWS region of the backup bucket, e.g. eu-west-1' })
    .trim()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region name such as eu-west-1'),
  BACKUP_BUCKET: z
    .string({ error: 'required: the S3 bucket that receives the backups' })
    .trim()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)'),
  BACKUP_PREFIX: z
    .string()
    .optional()
    .transform((value) => value ?? '')
    .refine((value) => !value.startsWith('/'), 'must not start with "/" (S3 keys are relative)'),
  TOKEN_AUDIENCE: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value ? value : 'api://blobferry-backup')),
  AZURE_CLIENT_ID: optionalText,
  ALLOWED_SOURCES: z.string({ error: 'required: comma-separated "account/container" or "account/*" entries' }).pipe(allowedSources),
  KEY_LAYOUT: z
    .enum(KEY_LAYOUTS, { error: `expected one of ${KEY_LAYOUTS.join(', ')}` })
    .optional()
    .transform((value) => value ?? KEY_LAYOUTS[0]),
  PART_SIZE: byteSize.optional().transform((value) => value ?? 8 * MIB),
  CONCURRENCY: z
    .string()
    .trim()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(64, 'must be at most 64'))
    .optional()
    .transform((value) => value ?? 4),
  DELETE_POLICY: z
    .enum(DELETE_POLICIES, { error: `expected one of ${DELETE_POLICIES.join(', ')}` })
    .optional()
    .transform((value) => value ?? 'retain'),
  APPLICATIONINSIGHTS_CONNECTION_STRING: optionalText,
  AWS_STS_ENDPOINT: z.url({ error: 'expected an http(s) URL' }).optional(),
  S3_ENDPOINT: z.url({ error: 'expected an http(s) URL' }).optional(),
  S3_FORCE_PATH_STYLE: booleanText,
  // What the S3 endpoint does (libs/transfer's S3EndpointFeatures); Amazon S3's by default.
  S3_CHECKSUM: z
    .enum(S3_CHECKSUMS, { error: `expected one of ${S3_CHECKSUMS.join(', ')}` })
    .optional()
    .transform((value) => value ?? 'CRC32'),
  S3_CONDITIONAL_WRITES: z
    .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
    .optional()
    .transform((value) => value === undefined || value === 'true' || value === '1'),
  AZURE_STORAGE_CONNECTION_STRING: optionalText,
});

export type BackupSettings = z.output<typeof settingsSchema>;

export type SettingsResult = { ok: true; config: BackupSettings } | { ok: false; errors: string[] };

/**
 * Parses the app settings once. Errors name the setting and say what it should hold; they never
 * echo a value, because AZURE_STORAGE_CONNECTION_STRING and the Application Insights
 * connection string carry keys.
 */
export function parseBackupSettings(env: Record<string, string | undefined>): SettingsResult {
  const input: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    const value = env[name];
    // An app setting that is present but empty means "not set" (Bicep often deploys '' for optional ones).
    if (value !== undefined && !(value.trim() === '' && name !== 'BACKUP_PREFIX')) input[name] = value;
  }
  const parsed = settingsSchema.safeParse(input);
  if (parsed.success) return { ok: true, config: parsed.data };
  const errors = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'settings'}: ${issue.message}`);
  return { ok: false, errors };
}

export function isSourceAllowed(config: Pick<BackupSettings, 'ALLOWED_SOURCES'>, account: string, container: string): boolean {
  const accountName = account.toLowerCase();
  return config.ALLOWED_SOURCES.some(
    (entry) => entry.account === accountName && (entry.container === '*' || entry.container === container),
  );
}
