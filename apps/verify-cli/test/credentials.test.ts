// `blobferry credentials` against tools/local-cloud: in process through the program the bin runs
// (`run` from src/run.ts, which registers credentialsCommand()), and as the bin itself, run from
// source by the AWS CLI and rclone (whichever are on PATH) as their credential_process.
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startLocalCloud, type LocalCloud } from '@blobferry/local-cloud';
import { AWS_CLI, RCLONE, requireTool } from '@blobferry/test-support';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/run.js';

const JWT = /eyJ[\w-]+\.[\w-]+\./;
const execute = promisify(execFile);
// Missing ones fail their test in CI and are skipped with a warning elsewhere.
const aws = requireTool(AWS_CLI);
const rclone = requireTool(RCLONE);

let cloud: LocalCloud;
let workDir: string;
let stackFile: string;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'blobferry-credentials-'));
  stackFile = join(workDir, 'stack.json');
  cloud = await startLocalCloud({ stackFile, log: () => undefined });
});
afterAll(async () => {
  await cloud?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Runs `blobferry credentials ...` in process and captures what it prints. */
async function blobferryCredentials(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exitCode = await run(['credentials', ...args], {
    stdout: { write: (text: string) => stdout.push(text) },
    stderr: { write: (text: string) => stderr.push(text) },
    env: process.env,
  });
  return { exitCode, stdout: stdout.join(''), stderr: stderr.join('') };
}

function s3With(credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  return new S3Client({ endpoint: cloud.stack.aws.s3Endpoint, region: cloud.stack.aws.region, forcePathStyle: true, credentials });
}

describe('blobferry credentials (in process)', () => {
  it('--local prints credential_process JSON that S3 accepts', async () => {
    const environment = { ...process.env };
    const result = await blobferryCredentials(['--local', '--stack', stackFile]);
    expect(result.exitCode).toBe(0);
    // The local identity endpoint is handed to the credential, not written into the environment.
    expect(process.env).toEqual(environment);
    const printed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual(['AccessKeyId', 'Expiration', 'SecretAccessKey', 'SessionToken', 'Version']);
    expect(printed.Version).toBe(1);
    expect(Date.parse(String(printed.Expiration))).toBeGreaterThan(Date.now());
    const s3 = s3With({
      accessKeyId: String(printed.AccessKeyId),
      secretAccessKey: String(printed.SecretAccessKey),
      sessionToken: String(printed.SessionToken),
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: cloud.stack.aws.bucket }));
    expect(listed.$metadata.httpStatusCode).toBe(200);
  });

  it('--token-file writes the Entra token (0600) and prints the variables for web identity consumers', async () => {
    const tokenFile = join(workDir, 'azure', 'token');
    const result = await blobferryCredentials(['--local', '--stack', stackFile, '--token-file', tokenFile]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`export AWS_WEB_IDENTITY_TOKEN_FILE='${tokenFile}'`);
    expect(result.stdout).toContain(`export AWS_ROLE_ARN='${cloud.stack.aws.roleArn}'`);
    expect(result.stdout).not.toMatch(JWT);
    const token = await readFile(tokenFile, 'utf8');
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims.sub).toBe(cloud.stack.identity.backupIdentity.principalId);
    expect(claims.aud).toBe(cloud.stack.identity.audience);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
  });

  it('the intruder identity fails with the trust-policy explanation and no token', async () => {
    const intruder = cloud.stack.identity.intruderIdentity;
    const result = await blobferryCredentials(['--local', '--stack', stackFile, '--client-id', intruder.clientId]);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`does not admit sub=${intruder.principalId} aud=${cloud.stack.identity.audience}`);
    expect(result.stderr).toContain('infra/aws-iam');
    expect(result.stderr).not.toMatch(JWT);
  });

  it('says what is missing without --local', async () => {
    const noRole = await blobferryCredentials(['--audience', 'api://blobferry-backup']);
    expect(noRole.exitCode).toBe(2);
    expect(noRole.stderr).toContain('Missing --role-arn');
    const noStack = await blobferryCredentials(['--local', '--stack', join(workDir, 'absent.json')]);
    expect(noStack.exitCode).toBe(2);
    expect(noStack.stderr).toContain('Start the local cloud first');
  });
});

/**
 * The `blobferry` bin as a process, from source: Node 22 transforms the TypeScript itself
 * (--experimental-transform-types, as the workspace uses parameter properties), the "@blobferry/source"
 * condition selects workspace sources, and a resolve hook maps their `./x.js` specifiers to `./x.ts`.
 * After `npm run build`, `node apps/verify-cli/dist/main.js` (the `blobferry` bin) is the same command.
 */
async function blobferryBin(directory: string): Promise<string[]> {
  const hooks = join(directory, 'ts-source-hooks.mjs');
  await writeFile(
    hooks,
    `import { registerHooks } from 'node:module';
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (error?.code === 'ERR_MODULE_NOT_FOUND' && /^\\.\\.?\\//.test(specifier) && specifier.endsWith('.js')) {
        return nextResolve(specifier.slice(0, -3) + '.ts', context);
      }
      throw error;
    }
  },
});
`,
  );
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  return [
    process.execPath,
    '--experimental-transform-types',
    '--disable-warning=ExperimentalWarning',
    '--conditions=@blobferry/source',
    '--import',
    hooks,
    main,
  ];
}

/** The environment of a machine with no AWS keys and no identity variables. */
function cleanEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of Object.keys(env)) {
    if (/^AWS_/.test(name) && !(name in extra)) delete env[name];
  }
  delete env.IDENTITY_ENDPOINT;
  delete env.IDENTITY_HEADER;
  return env;
}

describe('blobferry credentials as a credential_process', () => {
  const listedKey = 'listed-by-aws-cli.txt';
  let configFile: string;
  beforeAll(async () => {
    await s3With({ accessKeyId: cloud.stack.aws.emulatorAccessKeyId, secretAccessKey: cloud.stack.aws.emulatorSecretAccessKey }).send(
      new PutObjectCommand({
        Bucket: cloud.stack.aws.bucket,
        Key: `${cloud.stack.aws.prefix}credential-process/${listedKey}`,
        Body: 'hello',
      }),
    );
    // The README's recipe: a profile whose credential_process is `blobferry credentials --local`.
    const processCommand = [...(await blobferryBin(workDir)), 'credentials', '--local', '--stack', stackFile].join(' ');
    configFile = join(workDir, 'aws-config');
    await writeFile(
      configFile,
      `[profile blobferry]\nregion = ${cloud.stack.aws.region}\ncredential_process = ${processCommand}\ns3 =\n    addressing_style = path\n`,
    );
  }, 90_000);

  aws.it(
    'the AWS CLI lists the bucket through a profile whose credential_process is `credentials --local`',
    async () => {
      const before = cloud.sts.requestCount();
      // Asynchronous on purpose: the identity plane and STS answer from this very process.
      const { stdout } = await execute(
        aws.path,
        [
          's3',
          'ls',
          `s3://${cloud.stack.aws.bucket}/${cloud.stack.aws.prefix}credential-process/`,
          '--endpoint-url',
          cloud.stack.aws.s3Endpoint,
        ],
        {
          env: cleanEnvironment({
            AWS_CONFIG_FILE: configFile,
            AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'no-credentials'),
            AWS_PROFILE: 'blobferry',
          }),
          timeout: 60_000,
        },
      );
      expect(stdout).toContain(listedKey);
      expect(cloud.sts.requestCount() - before).toBe(1);
    },
    90_000,
  );

  rclone.it(
    'rclone (env_auth) lists the same objects through that profile',
    async () => {
      const { stdout } = await execute(rclone.path, ['lsf', `:s3:${cloud.stack.aws.bucket}/${cloud.stack.aws.prefix}credential-process/`], {
        env: cleanEnvironment({
          AWS_CONFIG_FILE: configFile,
          AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'no-credentials'),
          AWS_PROFILE: 'blobferry',
          RCLONE_CONFIG: join(workDir, 'no-rclone.conf'),
          RCLONE_S3_PROVIDER: 'Other',
          RCLONE_S3_ENV_AUTH: 'true',
          RCLONE_S3_ENDPOINT: cloud.stack.aws.s3Endpoint,
          RCLONE_S3_REGION: cloud.stack.aws.region,
        }),
        timeout: 60_000,
      });
      expect(stdout.split('\n')).toContain(listedKey);
    },
    90_000,
  );

  it('off Azure, without an identity endpoint, it explains how to get an identity', async () => {
    const [node, ...args] = await blobferryBin(workDir);
    const failure = await execute(
      node ?? process.execPath,
      [
        ...args,
        'credentials',
        '--role-arn',
        cloud.stack.aws.roleArn,
        '--audience',
        cloud.stack.identity.audience,
        '--sts-endpoint',
        cloud.stack.aws.stsEndpoint,
      ],
      // IMDS is pointed at a closed loopback port, as on a laptop without one.
      { env: cleanEnvironment({ AZURE_POD_IDENTITY_AUTHORITY_HOST: 'http://127.0.0.1:9' }), timeout: 60_000 },
    ).then(
      () => undefined,
      (error: unknown) => error as { code?: number; stderr?: string },
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain('new DefaultAzureCredential()');
    expect(failure?.stderr).toContain('--local');
  }, 90_000);
});
