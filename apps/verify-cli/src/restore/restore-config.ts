import type { KeyLayout } from '@blobferry/contract';
import { ConfigurationError } from '../cli-errors.js';
import { loadLocalStack } from '../local-stack.js';
import { azureAuth, backupLocation, concurrencySchema, parse, required, urlSchema, type AzureAuth } from '../verify/verify-config.js';

/** The restore command's flags as commander hands them over. */
export interface RestoreFlags {
  accountUrl?: string;
  connectionString?: string;
  container?: string;
  prefix?: string;
  name?: string;
  bucket?: string;
  targetPrefix?: string;
  keyLayout?: string;
  region?: string;
  s3Endpoint?: string;
  roleArn?: string;
  audience?: string;
  stsEndpoint?: string;
  local?: boolean;
  stack?: string;
  to?: string;
  asOf?: string;
  includeDeleted?: boolean;
  overwrite?: boolean;
  dryRun?: boolean;
  removeExtras?: boolean;
  yes?: boolean;
  listVersions?: string;
  serverSide?: boolean;
  concurrency?: string;
  json?: boolean;
  progress?: boolean;
}

/**
 * Who reads S3: the operator's Azure identity through STS on the restore role (DefaultAzureCredential, or with
 * --local the local person's token), or, without --role-arn, the standard AWS chain.
 */
export type RestoreAwsAuth =
  | { kind: 'default-chain' }
  | {
      kind: 'federated';
      roleArn: string;
      audience: string;
      stsEndpoint?: string;
      localUser?: { tokenEndpoint: string; identityHeader: string };
    };

/** Where the restore writes: a container URL (signed in with the operator's identity), or a container of the source account. */
export type RestoreTargetName = { kind: 'url'; url: string } | { kind: 'name'; name: string };

export interface RestoreConfig {
  azure: AzureAuth;
  container: string;
  prefix: string;
  name: string | undefined;
  bucket: string;
  targetPrefix: string;
  keyLayout: KeyLayout;
  region: string | undefined;
  s3Endpoint: string | undefined;
  aws: RestoreAwsAuth;
  target: RestoreTargetName;
  asOf: Date | undefined;
  includeDeleted: boolean;
  overwrite: boolean;
  dryRun: boolean;
  removeExtras: boolean;
  yes: boolean;
  listVersions: string | undefined;
  serverSide: boolean;
  concurrency: number;
  format: 'table' | 'json';
  progress: 'auto' | 'always' | 'never';
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 time with its zone (or a date, midnight UTC); anything else is refused with the form to use. */
export function parseAsOf(text: string): Date {
  const time = ISO_TIME.test(text) ? new Date(text.length === 10 ? `${text}T00:00:00Z` : text) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw new ConfigurationError(
      `--as-of ${JSON.stringify(text)} is not a time: give an ISO 8601 time with its zone, e.g. 2026-12-06T09:30:00Z or 2026-12-06T10:30:00+01:00 (a date alone means midnight UTC).`,
    );
  }
  return time;
}

/** A new container beside the source, `<container>-restored-<UTC time>`, within Azure's 63 characters. */
export function defaultTargetName(container: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${container.slice(0, 63 - '-restored-'.length - stamp.length)}-restored-${stamp}`;
}

/** Flags, environment and (with --local) the local stack, checked and combined; flags win over the stack. */
export async function resolveRestoreConfig(
  flags: RestoreFlags,
  env: Record<string, string | undefined>,
  now: Date,
): Promise<RestoreConfig> {
  if (flags.stack && !flags.local) throw new ConfigurationError('--stack names the local cloud stack file: add --local.');
  if (flags.name !== undefined && flags.prefix !== undefined)
    throw new ConfigurationError('Give --name (one blob) or --prefix (a folder), not both.');
  if (flags.yes && !flags.removeExtras)
    throw new ConfigurationError('--yes confirms --remove-extras: add --remove-extras, or leave --yes out.');
  const stack = flags.local ? await loadLocalStack(flags.stack) : undefined;
  const container = required(
    flags.container ?? stack?.azure.sourceContainer,
    'Name the source container whose backups to restore: --container <name>.',
  );
  const roleArn = flags.roleArn ?? stack?.aws.restoreRoleArn;
  const audience = flags.audience ?? stack?.identity.audience;
  let aws: RestoreAwsAuth = { kind: 'default-chain' };
  if (roleArn || audience) {
    aws = {
      kind: 'federated',
      roleArn: required(roleArn, '--audience needs --role-arn: the restore role (infra/aws-iam output RestoreRoleArn).'),
      audience: required(
        audience,
        '--role-arn needs --audience (the Entra App ID URI the trust policy pins, e.g. api://blobferry-backup).',
      ),
      ...((flags.stsEndpoint ?? stack?.aws.stsEndpoint) ? { stsEndpoint: flags.stsEndpoint ?? stack?.aws.stsEndpoint } : {}),
      ...(stack
        ? { localUser: { tokenEndpoint: stack.identity.operatorUser.tokenEndpoint, identityHeader: stack.identity.identityHeader } }
        : {}),
    };
  }
  const to = flags.to ?? defaultTargetName(container, now);
  const target: RestoreTargetName = /^https?:\/\//.test(to)
    ? { kind: 'url', url: parse(urlSchema('--to'), to) }
    : { kind: 'name', name: to };
  return {
    azure: azureAuth(flags, env, stack),
    container,
    prefix: flags.prefix ?? '',
    name: flags.name,
    ...backupLocation(flags, env, stack),
    aws,
    target,
    asOf: flags.asOf === undefined ? undefined : parseAsOf(flags.asOf),
    includeDeleted: flags.includeDeleted ?? false,
    overwrite: flags.overwrite ?? false,
    dryRun: flags.dryRun ?? false,
    removeExtras: flags.removeExtras ?? false,
    yes: flags.yes ?? false,
    listVersions: flags.listVersions,
    serverSide: flags.serverSide ?? true,
    concurrency: parse(concurrencySchema, flags.concurrency ?? '16'),
    format: flags.json ? 'json' : 'table',
    progress: flags.progress === true ? 'always' : flags.progress === false ? 'never' : 'auto',
  };
}
