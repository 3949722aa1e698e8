import {
  AZURE_INVENTORY_CONTAINER,
  AZURE_INVENTORY_RULE,
  KEY_LAYOUTS,
  S3_CHECKSUMS,
  s3InventoryBucketFor,
  s3InventoryPrefixFor,
  type KeyLayout,
  type Stack,
} from '@blobferry/contract';
import { AMAZON_S3_FEATURES, type S3EndpointFeatures } from '@blobferry/transfer';
import { z } from 'zod';
import { ConfigurationError } from '../cli-errors.js';
import { loadLocalStack } from '../local-stack.js';

/** The verify command's flags as commander hands them over. */
export interface VerifyFlags {
  accountUrl?: string;
  connectionString?: string;
  container?: string;
  prefix?: string;
  bucket?: string;
  targetPrefix?: string;
  keyLayout?: string;
  region?: string;
  s3Endpoint?: string;
  s3Checksum?: string;
  s3ConditionalWrites?: string;
  roleArn?: string;
  audience?: string;
  managedIdentityClientId?: string;
  stsEndpoint?: string;
  local?: boolean;
  stack?: string;
  deep?: boolean;
  properties?: boolean;
  repair?: boolean;
  dryRun?: boolean;
  deleteExtra?: boolean;
  viaQueue?: boolean;
  queueUrl?: string;
  queueName?: string;
  journal?: string;
  concurrency?: string;
  json?: boolean;
  ndjson?: boolean;
  progress?: boolean;
  inventory?: boolean;
  azureInventory?: string;
  s3Inventory?: string;
  inventoryMaxAge?: string;
  inventoryDir?: string;
}

/** Where the inventory reports are (`--inventory`), and how old they may be. */
export interface InventoryConfig {
  azure: { container: string; rule: string };
  s3: { bucket: string; prefix: string };
  maxAgeMs: number;
  /** Where reports and DuckDB's spill go (default: the system's temp folder). */
  workDirectory: string | undefined;
}

export type AzureAuth = { kind: 'connection-string'; connectionString: string } | { kind: 'default-credential'; accountUrl: string };

export type AwsAuth =
  | { kind: 'default-chain' }
  | { kind: 'federated'; roleArn: string; audience: string; managedIdentityClientId?: string; stsEndpoint?: string }
  /** `--local`: the local identity plane's App Service style endpoint stands in for the Function's managed identity. */
  | {
      kind: 'local-federated';
      roleArn: string;
      audience: string;
      stsEndpoint: string;
      identityEndpoint: string;
      identityHeader: string;
      clientId: string;
    };

/** The backup queue a backfill writes to, and the caller's identity for it (Storage Queue Data Message Sender). */
export type QueueTarget =
  { kind: 'connection-string'; connectionString: string; queueName: string } | { kind: 'default-credential'; queueUrl: string };

export interface VerifyConfig {
  azure: AzureAuth;
  container: string;
  prefix: string;
  bucket: string;
  targetPrefix: string;
  keyLayout: KeyLayout;
  region: string | undefined;
  s3Endpoint: string | undefined;
  /** What the S3 endpoint does with checksums and conditional writes; Amazon S3's unless told (or --local). */
  s3Features: S3EndpointFeatures;
  aws: AwsAuth;
  deep: boolean;
  /** Compare every pair's properties (metadata, tags, tier, blob type) too: `reconcile({ properties })`. */
  properties: boolean;
  repair: { dryRun: boolean; deleteExtra: boolean; viaQueue?: { queue: QueueTarget; journalPath: string } } | undefined;
  concurrency: number;
  format: 'table' | 'json' | 'ndjson';
  progress: 'auto' | 'always' | 'never';
  /** With --inventory: read the reports instead of listing both sides (listing when none are configured). */
  inventory: InventoryConfig | undefined;
}

/** libs/transfer's KEY_LAYOUTS, for help and errors: the first is the default. */
export const KEY_LAYOUTS_HELP = KEY_LAYOUTS.map((layout, index) => (index === 0 ? `${layout} (default)` : layout)).join(', ');
const layoutSchema = z.enum(KEY_LAYOUTS, { error: () => `--key-layout must be one of ${KEY_LAYOUTS_HELP}` });
const s3ChecksumSchema = z.enum(S3_CHECKSUMS, {
  error: () =>
    `--s3-checksum must be one of ${S3_CHECKSUMS.map((name) => (name === AMAZON_S3_FEATURES.checksum ? `${name} (default)` : name)).join(', ')}`,
});
const s3ConditionalWritesSchema = z
  .enum(['true', 'false'], { error: () => '--s3-conditional-writes must be true (default) or false' })
  .transform((value) => value === 'true');
export const concurrencySchema = z.coerce
  .number({ error: () => '--concurrency must be a whole number from 1 to 256' })
  .int('--concurrency must be a whole number from 1 to 256')
  .min(1, '--concurrency must be a whole number from 1 to 256')
  .max(256, '--concurrency must be a whole number from 1 to 256');
export const urlSchema = (flag: string) => z.url({ error: () => `${flag} must be a URL such as https://host[:port]` });

const maxAgeSchema = z.coerce
  .number({ error: () => '--inventory-max-age must be a number of hours' })
  .positive('--inventory-max-age must be a number of hours above 0');

function azureInventoryOf(value: string | undefined): InventoryConfig['azure'] {
  if (value === undefined) return { container: AZURE_INVENTORY_CONTAINER, rule: AZURE_INVENTORY_RULE };
  const match = /^([a-z0-9-]{3,63})\/([A-Za-z0-9_-]{1,256})$/.exec(value);
  if (!match)
    throw new ConfigurationError('--azure-inventory must be <destination container>/<rule name>, e.g. blobferry-inventory/blobferry');
  return { container: match[1] ?? '', rule: match[2] ?? '' };
}

function s3InventoryOf(value: string | undefined, backupBucket: string): InventoryConfig['s3'] {
  if (value === undefined) return { bucket: s3InventoryBucketFor(backupBucket), prefix: s3InventoryPrefixFor(backupBucket) };
  const match = /^s3:\/\/([a-z0-9.-]{3,63})\/(.*\/)$/.exec(value);
  if (!match) {
    throw new ConfigurationError(
      '--s3-inventory must be s3://<reports bucket>/<destination prefix>/<backup bucket>/<configuration id>/ (ending in /)',
    );
  }
  return { bucket: match[1] ?? '', prefix: match[2] ?? '' };
}

function inventoryConfig(flags: VerifyFlags, backupBucket: string): InventoryConfig | undefined {
  if (!flags.inventory) {
    if (flags.azureInventory || flags.s3Inventory || flags.inventoryMaxAge || flags.inventoryDir) {
      throw new ConfigurationError(
        '--azure-inventory, --s3-inventory, --inventory-max-age and --inventory-dir only apply with --inventory.',
      );
    }
    return undefined;
  }
  if (flags.deep || flags.properties) {
    throw new ConfigurationError(
      '--inventory settles the pairs its reports prove in sync without reading them; --deep and --properties need every pair: run them without --inventory.',
    );
  }
  return {
    azure: azureInventoryOf(flags.azureInventory),
    s3: s3InventoryOf(flags.s3Inventory, backupBucket),
    maxAgeMs: parse(maxAgeSchema, flags.inventoryMaxAge ?? '48') * 3600_000,
    workDirectory: flags.inventoryDir,
  };
}

export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ConfigurationError(result.error.issues[0]?.message ?? 'invalid option');
  return result.data;
}

export function required(value: string | undefined, fix: string): string {
  if (value === undefined || value === '') throw new ConfigurationError(fix);
  return value;
}

function awsAuth(flags: VerifyFlags, stack: Stack | undefined): AwsAuth {
  if (flags.roleArn || flags.audience) {
    return {
      kind: 'federated',
      roleArn: required(
        flags.roleArn ?? stack?.aws.roleArn,
        '--audience needs --role-arn arn:aws:iam::<account>:role/<name> (the role the identity assumes)',
      ),
      audience: required(
        flags.audience ?? stack?.identity.audience,
        '--role-arn needs --audience (the Entra App ID URI the trust policy pins, e.g. api://blobferry-backup)',
      ),
      ...(flags.managedIdentityClientId ? { managedIdentityClientId: flags.managedIdentityClientId } : {}),
      ...((flags.stsEndpoint ?? stack?.aws.stsEndpoint) ? { stsEndpoint: flags.stsEndpoint ?? stack?.aws.stsEndpoint } : {}),
    };
  }
  if (stack) {
    return {
      kind: 'local-federated',
      roleArn: stack.aws.roleArn,
      audience: stack.identity.audience,
      stsEndpoint: flags.stsEndpoint ?? stack.aws.stsEndpoint,
      identityEndpoint: stack.identity.identityEndpoint,
      identityHeader: stack.identity.identityHeader,
      clientId: flags.managedIdentityClientId ?? stack.identity.backupIdentity.clientId,
    };
  }
  return { kind: 'default-chain' };
}

export function azureAuth(
  flags: Pick<VerifyFlags, 'connectionString' | 'accountUrl'>,
  env: Record<string, string | undefined>,
  stack: Stack | undefined,
): AzureAuth {
  const connectionString =
    flags.connectionString ?? (flags.accountUrl ? undefined : (stack?.azure.connectionString ?? env.AZURE_STORAGE_CONNECTION_STRING));
  if (connectionString) return { kind: 'connection-string', connectionString };
  if (flags.accountUrl) return { kind: 'default-credential', accountUrl: parse(urlSchema('--account-url'), flags.accountUrl) };
  throw new ConfigurationError(
    'Name the storage account: --account-url https://<account>.blob.core.windows.net (signs in with ' +
      'DefaultAzureCredential: az login, managed identity or AZURE_* variables), or --connection-string / ' +
      'AZURE_STORAGE_CONNECTION_STRING, or --local for the local cloud.',
  );
}

/** Where the backups are: the bucket, the key prefix and layout, and how S3 is reached (flags win over the stack). */
export function backupLocation(
  flags: Pick<VerifyFlags, 'bucket' | 'targetPrefix' | 'keyLayout' | 'region' | 's3Endpoint'>,
  env: Record<string, string | undefined>,
  stack: Stack | undefined,
) {
  const s3Endpoint = flags.s3Endpoint ?? stack?.aws.s3Endpoint;
  return {
    bucket: required(flags.bucket ?? stack?.aws.bucket, 'Name the backup bucket: --bucket <name>.'),
    targetPrefix: flags.targetPrefix ?? stack?.aws.prefix ?? '',
    keyLayout: parse(layoutSchema, flags.keyLayout ?? KEY_LAYOUTS[0]),
    region: flags.region ?? stack?.aws.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    s3Endpoint: s3Endpoint === undefined ? undefined : parse(urlSchema('--s3-endpoint'), s3Endpoint),
  };
}

/** Where a backfill's journal lives unless --journal says otherwise: the working directory. */
export const DEFAULT_JOURNAL_PATH = '.blobferry/backfill-journal.ndjson';

function queueTarget(flags: VerifyFlags, azure: AzureAuth, stack: Stack | undefined): QueueTarget {
  if (flags.queueUrl) return { kind: 'default-credential', queueUrl: parse(urlSchema('--queue-url'), flags.queueUrl) };
  const queueName = flags.queueName ?? stack?.events.queueName;
  if (queueName && azure.kind === 'connection-string')
    return { kind: 'connection-string', connectionString: azure.connectionString, queueName };
  throw new ConfigurationError(
    'Name the backup queue: --queue-url https://<account>.queue.core.windows.net/<queue> (signs in with DefaultAzureCredential; ' +
      'needs Storage Queue Data Message Sender on that queue, infra/bicep operatorPrincipalId), or --queue-name <queue> with a ' +
      'connection string, or --local.',
  );
}

/** Flags, environment and (with --local) the local stack, checked and combined; flags win over the stack. */
export async function resolveVerifyConfig(flags: VerifyFlags, env: Record<string, string | undefined>): Promise<VerifyConfig> {
  if ((flags.dryRun || flags.deleteExtra || flags.viaQueue) && !flags.repair) {
    throw new ConfigurationError('--dry-run, --delete-extra and --via-queue only apply with --repair: add --repair.');
  }
  if (flags.viaQueue && flags.deleteExtra) {
    throw new ConfigurationError(
      '--delete-extra cannot go with --via-queue: extras are never deleted through the queue. Run without --via-queue to delete them here.',
    );
  }
  if ((flags.queueUrl || flags.queueName || flags.journal) && !flags.viaQueue) {
    throw new ConfigurationError('--queue-url, --queue-name and --journal only apply with --via-queue (or to `blobferry backfill`).');
  }
  const stack = flags.local ? await loadLocalStack(flags.stack) : undefined;
  if (flags.stack && !flags.local) throw new ConfigurationError('--stack names the local cloud stack file: add --local.');
  const azure = azureAuth(flags, env, stack);
  const location = backupLocation(flags, env, stack);
  return {
    azure,
    container: required(flags.container ?? stack?.azure.sourceContainer, 'Name the source container: --container <name>.'),
    prefix: flags.prefix ?? '',
    ...location,
    s3Features: {
      checksum:
        flags.s3Checksum === undefined
          ? (stack?.aws.s3Features.checksum ?? AMAZON_S3_FEATURES.checksum)
          : parse(s3ChecksumSchema, flags.s3Checksum),
      conditionalWrites:
        flags.s3ConditionalWrites === undefined
          ? (stack?.aws.s3Features.conditionalWrites ?? AMAZON_S3_FEATURES.conditionalWrites)
          : parse(s3ConditionalWritesSchema, flags.s3ConditionalWrites),
    },
    aws: awsAuth(flags, stack),
    deep: flags.deep ?? false,
    properties: flags.properties ?? false,
    repair: flags.repair
      ? {
          dryRun: flags.dryRun ?? false,
          deleteExtra: flags.deleteExtra ?? false,
          ...(flags.viaQueue
            ? { viaQueue: { queue: queueTarget(flags, azure, stack), journalPath: flags.journal ?? DEFAULT_JOURNAL_PATH } }
            : {}),
        }
      : undefined,
    concurrency: parse(concurrencySchema, flags.concurrency ?? '16'),
    format: flags.json ? 'json' : flags.ndjson ? 'ndjson' : 'table',
    progress: flags.progress === true ? 'always' : flags.progress === false ? 'never' : 'auto',
    inventory: inventoryConfig(flags, location.bucket),
  };
}
