import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import {
  credentialProcessOutput,
  decodeTokenClaims,
  fromAzureTokenCredential,
  managedIdentityCredential,
  writeWebIdentityTokenFile,
} from '@blobferry/federated-credentials';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigurationError } from '../cli-errors.js';
import { LocalManagedIdentityCredential } from '../local-identity.js';
import { DEFAULT_STACK_PATH, loadLocalStack } from '../local-stack.js';

interface CredentialsFlags {
  roleArn?: string;
  audience?: string;
  clientId?: string;
  stsEndpoint?: string;
  region?: string;
  durationSeconds?: number;
  tokenFile?: string;
  local?: boolean;
  stack: string;
  showClaims?: boolean;
  user?: boolean;
  /** With --local: the stack's App Service style identity endpoint (the person's token endpoint with --user). */
  localIdentity?: { identityEndpoint: string; identityHeader: string };
}

/**
 * `blobferry credentials`: the Azure identity of this machine as AWS credentials for other tools, as
 * `credential_process` JSON (AWS CLI, Terraform, rclone) or as a token file for AWS_WEB_IDENTITY_TOKEN_FILE.
 */
export function credentialsCommand(): Command {
  return new Command('credentials')
    .description(
      "Print AWS credential_process JSON for this host's Azure managed identity (STS AssumeRoleWithWebIdentity), " +
        'or write its Entra token to --token-file for AWS_WEB_IDENTITY_TOKEN_FILE consumers, or --show-claims',
    )
    .option('--role-arn <arn>', 'role to assume (arn:aws:iam::<account>:role/<name>)')
    .option('--audience <audience>', 'Entra audience of the token, as pinned by the role trust policy (e.g. api://blobferry-backup)')
    .option('--client-id <id>', 'client id of a user-assigned managed identity (default: the system-assigned identity)')
    .option('--sts-endpoint <url>', 'STS endpoint (default: the regional endpoint of --region)')
    .option('--region <region>', 'STS region (default: AWS_REGION, then us-east-1)')
    .option('--duration-seconds <seconds>', 'session length, 900..43200', parseSeconds)
    .option('--token-file <path>', 'write the Entra token here (mode 0600) instead of printing credentials')
    .option('--local', 'take role, audience, identity and endpoints from the local cloud stack file')
    .option('--stack <path>', 'local cloud stack file (with --local)', DEFAULT_STACK_PATH)
    .option(
      '--user',
      'a person rather than a managed identity: sign in with DefaultAzureCredential (az login); with --local, the local operator user',
    )
    .option(
      '--show-claims',
      "print who the token for --audience says this identity is (sub, oid, aud, iss, tid): the sub is what a role's trust pins",
    )
    .action(async (flags: CredentialsFlags, command: Command) => {
      const settings = flags.local ? await withLocalStack(flags) : flags;
      // One credential for the identity, used for the token file or for STS.
      const credential: TokenCredential = settings.localIdentity
        ? new LocalManagedIdentityCredential({
            ...settings.localIdentity,
            ...(settings.clientId && !settings.user ? { clientId: settings.clientId } : {}),
          })
        : settings.user
          ? new DefaultAzureCredential()
          : managedIdentityCredential(settings.clientId ? { managedIdentityClientId: settings.clientId } : {});
      const write = (text: string) => command.configureOutput().writeOut?.(text);
      if (!settings.audience)
        throw new ConfigurationError('Missing --audience (the Entra audience the role trust policy pins), or use --local.');

      if (settings.showClaims) {
        const token = await credential.getToken(`${settings.audience.replace(/\/\.default$/, '')}/.default`);
        if (!token) throw new ConfigurationError(`No token for ${settings.audience}: sign in first (az login), or check the audience.`);
        const claims = decodeTokenClaims(token.token);
        write(`${JSON.stringify(claims, null, 2)}\n`);
        write(
          claims.sub !== undefined && claims.sub !== claims.oid
            ? `# a person: sub (${claims.sub}) is not the object id; pin the sub (infra/aws-iam RestoreOperatorSubject=${claims.sub})\n`
            : `# sub is the object id: pin it (infra/aws-iam PrincipalId or RestoreOperatorSubject=${claims.sub ?? '?'})\n`,
        );
        return;
      }

      if (settings.tokenFile) {
        const written = await writeWebIdentityTokenFile({ credential, audience: settings.audience, path: settings.tokenFile });
        write(`export AWS_WEB_IDENTITY_TOKEN_FILE=${shellQuote(written.path)}\n`);
        if (settings.roleArn) write(`export AWS_ROLE_ARN=${shellQuote(settings.roleArn)}\n`);
        write(`# the token expires at ${written.expiresOn.toISOString()}: run this again before then\n`);
        return;
      }

      if (!settings.roleArn) throw new ConfigurationError('Missing --role-arn (the role the identity assumes), or use --local.');
      const provider = fromAzureTokenCredential({
        credential,
        roleArn: settings.roleArn,
        audience: settings.audience,
        ...(settings.stsEndpoint ? { stsEndpoint: settings.stsEndpoint } : {}),
        ...(settings.region ? { stsRegion: settings.region } : {}),
        ...(settings.durationSeconds ? { durationSeconds: settings.durationSeconds } : {}),
      });
      write(`${JSON.stringify(await credentialProcessOutput(provider))}\n`);
    });
}

/** Flags win; the stack fills the rest, including the local App Service style identity endpoint. */
async function withLocalStack(flags: CredentialsFlags): Promise<CredentialsFlags> {
  const stack = await loadLocalStack(flags.stack);
  return {
    ...flags,
    localIdentity: {
      identityEndpoint: flags.user ? stack.identity.operatorUser.tokenEndpoint : stack.identity.identityEndpoint,
      identityHeader: stack.identity.identityHeader,
    },
    roleArn: flags.roleArn ?? (flags.user ? stack.aws.restoreRoleArn : stack.aws.roleArn),
    audience: flags.audience ?? stack.identity.audience,
    clientId: flags.clientId ?? stack.identity.backupIdentity.clientId,
    stsEndpoint: flags.stsEndpoint ?? stack.aws.stsEndpoint,
    region: flags.region ?? stack.aws.region,
  };
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 900 || seconds > 43_200) {
    throw new InvalidArgumentError('an integer number of seconds from 900 to 43200');
  }
  return seconds;
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}
