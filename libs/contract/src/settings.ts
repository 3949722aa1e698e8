import { CronExpressionParser } from 'cron-parser';
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
  'STATE_CONTAINER_URL',
  'DEAD_LETTER_CONTAINER_URL',
  'EVENT_SUBSCRIPTION_NAME',
  'SWEEP_SCHEDULE',
  'SWEEP_EVENT_LAG',
  'RETRY_DELAYS',
  'STORAGE_CLASS_BY_TIER',
  'INVENTORY_AZURE',
  'INVENTORY_S3',
  'INVENTORY_MAX_AGE',
  'INVENTORY_WORK_DIRECTORY',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];

export const DELETE_POLICIES = ['retain', 'delete-marker'] as const;

/** Azure's access tiers, and the S3 storage classes a tier may be kept in (STORAGE_CLASS_BY_TIER). */
export const ACCESS_TIERS = ['Hot', 'Cool', 'Cold', 'Archive'] as const;
export type AccessTier = (typeof ACCESS_TIERS)[number];
export const STORAGE_CLASSES = [
  'STANDARD',
  'STANDARD_IA',
  'ONEZONE_IA',
  'INTELLIGENT_TIERING',
  'GLACIER_IR',
  'GLACIER',
  'DEEP_ARCHIVE',
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

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

/** A duration such as `30s`, `5m` or `2h`, in milliseconds. */
const duration = z
  .string()
  .trim()
  .regex(/^\d+(ms|s|m|h)$/, 'expected a duration such as 30s, 5m or 2h')
  .transform((text) => {
    const [, amount = '0', unit = 's'] = /^(\d+)(ms|s|m|h)$/.exec(text) ?? [];
    return Number(amount) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as 'ms' | 's' | 'm' | 'h'];
  });

/** An Azure Functions timer schedule: NCRONTAB, six fields, seconds first. */
const ncrontab = z
  .string()
  .trim()
  .superRefine((text, ctx) => {
    const fields = text.split(/\s+/);
    if (fields.length !== 6) {
      ctx.addIssue({
        code: 'custom',
        message: `expected NCRONTAB's six fields "{second} {minute} {hour} {day} {month} {day-of-week}", e.g. "0 0 */6 * * *" (got ${fields.length})`,
      });
      return;
    }
    try {
      CronExpressionParser.parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `not a valid NCRONTAB schedule: ${(error as Error).message}` });
    }
  });

const retryDelays = z
  .string()
  .trim()
  .transform((text, ctx) =>
    text.split(',').flatMap((entry) => {
      const parsed = duration.safeParse(entry);
      if (parsed.success) return [parsed.data];
      ctx.addIssue({ code: 'custom', message: `"${entry.trim()}" is not a duration: list delays such as "30s,1m,2m,5m"` });
      return [];
    }),
  );

const storageClassByTier = z
  .string()
  .trim()
  .transform((text, ctx) => {
    const mapping: Partial<Record<AccessTier, StorageClass>> = {};
    for (const entry of text
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      const [tier = '', storageClass = ''] = entry.split('=').map((part) => part.trim());
      if (!(ACCESS_TIERS as readonly string[]).includes(tier) || !(STORAGE_CLASSES as readonly string[]).includes(storageClass)) {
        ctx.addIssue({
          code: 'custom',
          message: `"${entry}" is not <tier>=<storage class>, with a tier of ${ACCESS_TIERS.join(', ')} and a class of ${STORAGE_CLASSES.join(', ')} (e.g. "Cool=STANDARD_IA,Archive=DEEP_ARCHIVE")`,
        });
        continue;
      }
      mapping[tier as AccessTier] = storageClass as StorageClass;
    }
    return mapping;
  });

const containerUrl = (what: string) =>
  z
    .url({ error: `expected the URL of ${what}, https://<account>.blob.core.windows.net/<container>` })
    .pipe(
      z
        .string()
        .refine(
          (url) => new URL(url).pathname.split('/').filter(Boolean).length >= 1,
          `expected the URL of ${what}, with the container in its path`,
        ),
    );

/** INVENTORY_AZURE: the inventory rule's destination container (in each source account) and the rule's name. */
const azureInventory = z
  .string()
  .trim()
  .regex(
    /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?\/[A-Za-z0-9-]+$/,
    "expected <destination container>/<rule name> of the source accounts' inventory policy, e.g. blobferry-inventory/blobferry",
  )
  .transform((text) => {
    const [container = '', rule = ''] = text.split('/');
    return { container, rule };
  });

/** INVENTORY_S3: where S3 Inventory delivers the backup bucket's reports, `<destination prefix>/<source bucket>/<config id>/`. */
const s3Inventory = z
  .string()
  .trim()
  .regex(
    /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(?:[^/]+\/)+$/,
    'expected s3://<reports bucket>/<destination prefix>/<backup bucket>/<configuration id>/ (ending in /), e.g. s3://my-backups-inventory/inventory/my-backups/blobferry/',
  )
  .transform((text) => {
    const [bucket = '', ...rest] = text.slice('s3://'.length).split('/');
    return { bucket, prefix: rest.join('/') };
  });

const booleanText = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const settingsSchema = z
  .object({
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
    // The state the Function's instances share: recorded permanent failures, which dependency has been failing
    // since when, the sweep's checkpoints and reports.
    STATE_CONTAINER_URL: z
      .string({ error: 'required: the container the Function keeps its state in (infra/bicep deploys it)' })
      .pipe(containerUrl('the state container')),
    // Event Grid's dead-letter container and the subscription's name, which names its folder there.
    DEAD_LETTER_CONTAINER_URL: containerUrl('the Event Grid dead-letter container').optional(),
    EVENT_SUBSCRIPTION_NAME: optionalText,
    SWEEP_SCHEDULE: z.string({ error: 'required: the sweep\'s NCRONTAB schedule, e.g. "0 0 */6 * * *" (every 6 hours)' }).pipe(ncrontab),
    SWEEP_EVENT_LAG: duration.optional().transform((value) => value ?? 15 * 60_000),
    RETRY_DELAYS: retryDelays.optional().transform((value) => value ?? [30_000, 60_000, 120_000, 300_000]),
    STORAGE_CLASS_BY_TIER: storageClassByTier.optional().transform((value) => value ?? {}),
    // The sweep at scale reads the inventory reports instead of listing, when both sides' reports are named.
    INVENTORY_AZURE: azureInventory.optional(),
    INVENTORY_S3: s3Inventory.optional(),
    INVENTORY_MAX_AGE: duration.optional().transform((value) => value ?? 48 * 3_600_000),
    INVENTORY_WORK_DIRECTORY: optionalText,
  })
  .superRefine((settings, ctx) => {
    if ((settings.DEAD_LETTER_CONTAINER_URL === undefined) !== (settings.EVENT_SUBSCRIPTION_NAME === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [settings.DEAD_LETTER_CONTAINER_URL === undefined ? 'DEAD_LETTER_CONTAINER_URL' : 'EVENT_SUBSCRIPTION_NAME'],
        message: 'DEAD_LETTER_CONTAINER_URL and EVENT_SUBSCRIPTION_NAME go together: the dead letters of a subscription lie under its name',
      });
    }
    if ((settings.INVENTORY_AZURE === undefined) !== (settings.INVENTORY_S3 === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [settings.INVENTORY_AZURE === undefined ? 'INVENTORY_AZURE' : 'INVENTORY_S3'],
        message: 'INVENTORY_AZURE and INVENTORY_S3 go together: the sweep joins both reports, or lists both sides when neither is set',
      });
    }
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
