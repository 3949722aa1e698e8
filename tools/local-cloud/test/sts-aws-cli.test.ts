import { AWS_CLI, requireTool } from '@blobferry/test-support';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BACKUP_IDENTITY, DEFAULT_AUDIENCE, LOCAL_TENANT_ID, startIdentityPlane, type IdentityPlane } from '../src/identity/index.js';
import { shippedTrust, startSts, type Sts } from '../src/sts/index.js';

const run = promisify(execFile);
// The AWS CLI on PATH (Debian's /usr/bin/aws, a pip or pyenv install, AWS's installer): missing fails in CI, warns elsewhere.
const aws = requireTool(AWS_CLI);
const EMULATOR_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

// The AWS CLI as an unmodified client of the local STS. Debian's (v2.9) predates AWS_ENDPOINT_URL_STS
// (CLI 2.13), so its web identity provider is pointed at the local STS the way botocore allows for any
// version: an endpoint rule set for sts in a folder named by AWS_DATA_PATH.
aws.describe('the AWS CLI against the local STS', () => {
  let plane: IdentityPlane;
  let sts: Sts;
  let workDir: string;
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    plane = await startIdentityPlane({});
    sts = await startSts({
      ...shippedTrust({
        tenantId: LOCAL_TENANT_ID,
        issuer: plane.issuer,
        audience: DEFAULT_AUDIENCE,
        principalId: BACKUP_IDENTITY.principalId,
        bucket: 'blobferry-backup',
      }),
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
      aws.path,
      [
        'sts',
        'assume-role-with-web-identity',
        '--endpoint-url',
        sts.endpoint,
        '--role-arn',
        sts.roleArn,
        '--role-session-name',
        'aws-cli',
        '--web-identity-token',
        `file://${await tokenFile('backup')}`,
        '--output',
        'json',
      ],
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
      aws.path,
      [
        'sts',
        'assume-role-with-web-identity',
        '--endpoint-url',
        sts.endpoint,
        '--role-arn',
        sts.roleArn,
        '--role-session-name',
        'aws-cli',
        '--web-identity-token',
        `file://${await tokenFile('intruder')}`,
      ],
      { env: cliEnv },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toMatch(/\(AccessDenied\).*Not authorized to perform sts:AssumeRoleWithWebIdentity/);
  });

  // `aws configure export-credentials` would show them directly, but only CLI v2 has it; v1 (PyPI) and v2
  // both sign an S3 request with them, which a loopback recorder standing in for S3 reads back.
  it('a profile-less CLI with AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN signs with credentials from the local STS', async () => {
    const s3 = await startS3Recorder();
    try {
      const before = sts.requestCount();
      const { stdout } = await run(aws.path, ['s3api', 'list-buckets', '--endpoint-url', s3.endpoint, '--output', 'json'], {
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
      expect(JSON.parse(stdout)).toMatchObject({ Buckets: [] });
      expect(s3.requests).toHaveLength(1);
      expect(s3.requests[0]?.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${EMULATOR_KEYS.accessKeyId}/`));
      expect(String(s3.requests[0]?.['x-amz-security-token']).length).toBeGreaterThan(100);
      expect(sts.requestCount() - before).toBe(1);
    } finally {
      await s3.close();
    }
  });
});

/** A loopback stand-in for S3 that answers ListBuckets with no buckets and keeps each request's headers. */
async function startS3Recorder(): Promise<{ endpoint: string; requests: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((request, response) => {
    requests.push(request.headers);
    request.resume();
    response.writeHead(200, { 'content-type': 'application/xml' });
    response.end(
      '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<Owner><ID>local</ID></Owner><Buckets></Buckets></ListAllMyBucketsResult>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

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
