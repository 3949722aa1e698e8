import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_IDENTITY, DEFAULT_AUDIENCE, LOCAL_TENANT_ID, startIdentityPlane, type IdentityPlane } from '../src/identity/index.js';
import { shippedTrust, startSts, type Sts } from '../src/sts/index.js';

const run = promisify(execFile);
const AWS_CLI = '/usr/bin/aws';
const EMULATOR_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

// The Debian AWS CLI (v2.9) as an unmodified client of the local STS. That version predates
// AWS_ENDPOINT_URL_STS (CLI 2.13), so its web identity provider is pointed at the local STS the way
// botocore allows for any version: an endpoint rule set for sts in a folder named by AWS_DATA_PATH.
describe.skipIf(!existsSync(AWS_CLI))('the AWS CLI against the local STS', () => {
  let plane: IdentityPlane;
  let sts: Sts;
  let workDir: string;
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    plane = await startIdentityPlane({});
    sts = await startSts({
      ...shippedTrust({ tenantId: LOCAL_TENANT_ID, issuer: plane.issuer, audience: DEFAULT_AUDIENCE, principalId: BACKUP_IDENTITY.principalId, bucket: 'blobferry-backup' }),
      credentials: EMULATOR_KEYS,
    });
    workDir = await mkdtemp(join(tmpdir(), 'local-cloud-aws-cli-'));
    await writeStsEndpointRuleSet(join(workDir, 'botocore-data'), sts.endpoint);
    // Nothing from the caller's environment: no profile, no keys, no CA bundle, no instance metadata.
    cliEnv = {
      PATH: process.env['PATH'],
      HOME: workDir,
      AWS_CONFIG_FILE: join(workDir, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(workDir, 'no-credentials'),
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
  });
  afterAll(async () => {
    await sts?.close();
    await plane?.close();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  async function tokenFile(identity: 'backup' | 'intruder'): Promise<string> {
    const path = join(workDir, `${identity}.jwt`);
    await writeFile(path, await plane.mintToken({ identity }), { mode: 0o600 });
    return path;
  }

  it('aws sts assume-role-with-web-identity gets credentials for the backup identity', async () => {
    const { stdout } = await run(
      AWS_CLI,
      ['sts', 'assume-role-with-web-identity', '--endpoint-url', sts.endpoint, '--role-arn', sts.roleArn,
        '--role-session-name', 'aws-cli', '--web-identity-token', `file://${await tokenFile('backup')}`, '--output', 'json'],
      { env: cliEnv },
    );
    const answer = JSON.parse(stdout) as Record<string, Record<string, string>>;
    expect(answer['Credentials']).toMatchObject({ AccessKeyId: EMULATOR_KEYS.accessKeyId, SecretAccessKey: EMULATOR_KEYS.secretAccessKey });
    expect(answer['Credentials']?.['SessionToken']?.length).toBeGreaterThan(100);
    expect(answer['AssumedRoleUser']?.['Arn']).toBe('arn:aws:sts::000000000000:assumed-role/blobferry-backup/aws-cli');
    expect(answer['SubjectFromWebIdentityToken']).toBe(BACKUP_IDENTITY.principalId);
  });

  it('aws sts assume-role-with-web-identity reports AccessDenied for the intruder', async () => {
    const failure = await run(
      AWS_CLI,
      ['sts', 'assume-role-with-web-identity', '--endpoint-url', sts.endpoint, '--role-arn', sts.roleArn,
        '--role-session-name', 'aws-cli', '--web-identity-token', `file://${await tokenFile('intruder')}`],
      { env: cliEnv },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toMatch(/\(AccessDenied\).*Not authorized to perform sts:AssumeRoleWithWebIdentity/);
  });

  it('a profile-less CLI with AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN takes its credentials from the local STS', async () => {
    const before = sts.requestCount();
    const { stdout } = await run(AWS_CLI, ['configure', 'export-credentials', '--format', 'process'], {
      env: {
        ...cliEnv,
        AWS_WEB_IDENTITY_TOKEN_FILE: await tokenFile('backup'),
        AWS_ROLE_ARN: sts.roleArn,
        AWS_ROLE_SESSION_NAME: 'profile-less',
        AWS_DATA_PATH: join(workDir, 'botocore-data'),
        // Read by CLI >= 2.13 instead of the rule set above.
        AWS_ENDPOINT_URL_STS: sts.endpoint,
      },
    });
    const exported = JSON.parse(stdout) as Record<string, unknown>;
    expect(exported).toMatchObject({ Version: 1, AccessKeyId: EMULATOR_KEYS.accessKeyId, SecretAccessKey: EMULATOR_KEYS.secretAccessKey });
    expect(String(exported['SessionToken']).length).toBeGreaterThan(100);
    expect(Date.parse(String(exported['Expiration'])) - Date.now()).toBeGreaterThan(3500_000);
    expect(sts.requestCount() - before).toBe(1);
  });
});

/** An sts endpoint rule set that sends every request to `endpoint` unless --endpoint-url says otherwise. */
async function writeStsEndpointRuleSet(dataPath: string, endpoint: string): Promise<void> {
  const directory = join(dataPath, 'sts', '2011-06-15');
  await mkdir(directory, { recursive: true });
  const builtIn = (name: string, type: 'String' | 'Boolean', required: boolean) =>
    required ? { builtIn: name, required, default: false, type } : { builtIn: name, required, type };
  const ruleSet = {
    version: '1.0',
    parameters: {
      Region: builtIn('AWS::Region', 'String', false),
      UseDualStack: builtIn('AWS::UseDualStack', 'Boolean', true),
      UseFIPS: builtIn('AWS::UseFIPS', 'Boolean', true),
      Endpoint: builtIn('SDK::Endpoint', 'String', false),
      UseGlobalEndpoint: builtIn('AWS::STS::UseGlobalEndpoint', 'Boolean', true),
    },
    rules: [
      {
        conditions: [{ fn: 'isSet', argv: [{ ref: 'Endpoint' }] }],
        endpoint: { url: { ref: 'Endpoint' }, properties: {}, headers: {} },
        type: 'endpoint',
      },
      { conditions: [], endpoint: { url: endpoint, properties: {}, headers: {} }, type: 'endpoint' },
    ],
  };
  await writeFile(join(directory, 'endpoint-rule-set-1.json'), JSON.stringify(ruleSet, null, 2));
}
