import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  bicepBlockAfter,
  bicepOutputs,
  bicepParams,
  exportedStringArray,
  loadCloudFormation,
  readWorkspaceFile,
  workspaceRoot,
} from './sources.js';

// The names three places must agree on: the Function's settings (apps/backup-function), the app
// settings Bicep deploys, and the values the CloudFormation stack and the Bicep deployment hand to
// each other. Read as text, so this project depends on no app code.
const mainBicep = readWorkspaceFile('infra/bicep/main.bicep');
const configSource = readWorkspaceFile('apps/backup-function/src/config.ts');
const template = loadCloudFormation(readWorkspaceFile('infra/aws-iam/template.yaml'));
const cfnParameters = template['Parameters'] as Record<string, Record<string, unknown>>;
const cfnOutputs = template['Outputs'] as Record<string, unknown>;
const params = bicepParams(mainBicep);

/** Settings the Function reads that only a local run sets: endpoint overrides and Azurite's key. */
const LOCAL_ONLY_SETTINGS = ['AWS_STS_ENDPOINT', 'S3_ENDPOINT', 'S3_FORCE_PATH_STYLE', 'AZURE_STORAGE_CONNECTION_STRING'];

function deployedBackupSettings(): string[] {
  const start = mainBicep.indexOf('var requiredBackupSettings');
  const end = mainBicep.indexOf('var backupAppSettings');
  expect(start, 'main.bicep declares requiredBackupSettings before backupAppSettings').toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return [...mainBicep.slice(start, end).matchAll(/\b([A-Z][A-Z0-9_]+):/g)].map((match) => match[1] ?? '');
}

describe('Function settings deployed by Bicep', () => {
  const settingNames = exportedStringArray(configSource, 'SETTING_NAMES');
  const deployed = deployedBackupSettings();

  it('deploys only settings the Function reads', () => {
    expect(deployed.length).toBeGreaterThanOrEqual(12);
    expect(deployed.filter((name) => !settingNames.includes(name))).toEqual([]);
  });

  it('deploys every setting the Function reads, except the local-only overrides', () => {
    const missing = settingNames.filter((name) => !deployed.includes(name));
    expect(missing.sort()).toEqual([...LOCAL_ONLY_SETTINGS].sort());
  });

  it('sets AZURE_CLIENT_ID only for a user-assigned identity', () => {
    expect(mainBicep).toMatch(/var clientIdSetting = userAssigned \? \{ AZURE_CLIENT_ID: identity\.properties\.clientId \} : \{\}/);
  });

  it('offers exactly the DELETE_POLICY and KEY_LAYOUT values the Function accepts', () => {
    expect(params.get('deletePolicy')?.allowed).toEqual(exportedStringArray(configSource, 'DELETE_POLICIES'));
    expect(params.get('keyLayout')?.allowed).toEqual(['', ...exportedStringArray(configSource, 'KEY_LAYOUTS')]);
  });

  it('subscribes the function the app registers', () => {
    const registered = /export const BACKUP_FUNCTION_NAME = '([^']+)'/.exec(readWorkspaceFile('apps/backup-function/src/index.ts'))?.[1];
    expect(registered).toBeDefined();
    expect(mainBicep).toContain(`param functionName string = '${registered}'`);
    expect(mainBicep).toContain("functionResourceId: '${functionApp.outputs.id}/functions/${functionName}'");
  });
});

describe('values handed between the Azure and AWS deployments', () => {
  // [Bicep output or parameter, CloudFormation parameter or output, Function setting]
  const azureToAws: [string, string][] = [
    ['tenantId', 'TenantId'],
    ['principalId', 'PrincipalId'],
    ['tokenAudience', 'Audience'],
  ];
  const awsToAzure: [string, string, string][] = [
    ['RoleArn', 'awsRoleArn', 'AWS_ROLE_ARN'],
    ['BucketName', 'backupBucket', 'BACKUP_BUCKET'],
  ];

  it.each(azureToAws)('Bicep output %s feeds CloudFormation parameter %s', (output, parameter) => {
    expect(bicepOutputs(mainBicep)).toContain(output);
    expect(cfnParameters[parameter], `template parameter ${parameter}`).toBeDefined();
    expect(cfnParameters[parameter]?.['Default'], `${parameter} must be given, not defaulted`).toBeUndefined();
  });

  it.each(awsToAzure)('CloudFormation output %s feeds Bicep parameter %s, deployed as %s', (output, parameter, setting) => {
    expect(cfnOutputs[output], `template output ${output}`).toBeDefined();
    expect(params.get(parameter), `main.bicep param ${parameter}`).toBeDefined();
    expect(mainBicep).toMatch(new RegExp(`\\n  ${setting}: ${parameter}\\n`));
  });

  it('uses the same prefix on both sides', () => {
    expect(cfnParameters['BucketPrefix']).toBeDefined();
    expect(mainBicep).toMatch(/\n {2}BACKUP_PREFIX: backupPrefix\n/);
    expect(mainBicep).toMatch(/\n {2}TOKEN_AUDIENCE: tokenAudience\n/);
  });

  it('trusts the issuer the Function\'s tokens carry (v1: https://sts.windows.net/<tenant>/)', () => {
    const provider = (template['Resources'] as Record<string, Record<string, Record<string, unknown>>>)['OidcProvider'];
    expect(provider?.['Properties']?.['Url']).toEqual({ 'Fn::Sub': 'https://sts.windows.net/${TenantId}/' });
    expect(provider?.['Properties']?.['ClientIdList']).toEqual([{ Ref: 'Audience' }]);
  });
});

describe('deployment inputs', () => {
  it('main.parameters.json sets every required parameter and only declared ones', () => {
    const file = JSON.parse(readWorkspaceFile('infra/bicep/main.parameters.json')) as { parameters: Record<string, unknown> };
    const given = Object.keys(file.parameters);
    expect(given.filter((name) => !params.has(name))).toEqual([]);
    const required = [...params.values()].filter((param) => !param.hasDefault).map((param) => param.name);
    expect(required.filter((name) => !given.includes(name))).toEqual([]);
  });

  it('azure.yaml deploys the package the backup-function build writes', () => {
    const azure = parseYaml(readWorkspaceFile('azure.yaml')) as {
      infra: { provider: string; path: string; module: string };
      services: Record<string, { project: string; language: string; host: string; dist: string }>;
    };
    expect(azure.infra).toEqual({ provider: 'bicep', path: 'infra/bicep', module: 'main' });
    const service = azure.services['backup-function'];
    expect(service).toMatchObject({ project: 'apps/backup-function', language: 'js', host: 'function', dist: 'dist/package' });
    // azd finds the app by this tag on the site.
    expect(readWorkspaceFile('infra/bicep/modules/function-app.bicep')).toContain("'azd-service-name': 'backup-function'");
    const build = readWorkspaceFile('apps/backup-function/scripts/build-package.mjs');
    // Its default output folder is dist/, the deployable package dist/package/.
    expect(build).toContain("join(projectRoot, 'dist')");
    expect(build).toContain("const packageDir = join(outDir, 'package')");
  });
});

describe('no storage keys anywhere', () => {
  const bicepFiles = ['main.bicep', ...readdirSync(join(workspaceRoot, 'infra/bicep/modules')).map((name) => `modules/${name}`)];
  const sources = bicepFiles.map((name) => [name, readWorkspaceFile('infra/bicep', name)] as const);

  it.each(sources)('%s never reads a key or builds a key-bearing connection string', (_name, source) => {
    expect(source).not.toMatch(/listKeys|listAccountSas|listServiceSas|AccountKey=|SharedAccessSignature/);
    expect(source).not.toMatch(/AzureWebJobsStorage:|AzureWebJobsStorage'|AZURE_STORAGE_CONNECTION_STRING/);
  });

  it('every storage account it creates refuses shared keys', () => {
    const accounts = sources.flatMap(([name, source]) =>
      [...source.matchAll(/resource \w+ 'Microsoft\.Storage\/storageAccounts@[^']+' = \{/g)].map((match) => [name, bicepBlockAfter(source.slice(match.index), '=')] as const),
    );
    expect(accounts.length).toBe(2);
    for (const [name, block] of accounts) expect(block, name).toContain('allowSharedKeyAccess: false');
  });

  it('the host reaches its storage with the managed identity', () => {
    const functionApp = readWorkspaceFile('infra/bicep/modules/function-app.bicep');
    expect(functionApp).toContain("AzureWebJobsStorage__credential: 'managedidentity'");
    expect(functionApp).toContain('AzureWebJobsStorage__accountName: hostStorageAccountName');
    expect(functionApp).toContain('AzureWebJobsStorage__clientId: userAssignedClientId');
    expect(functionApp).toContain("type: 'UserAssignedIdentity'");
    expect(functionApp).toMatch(/runtime: \{\s+name: 'node'\s+version: '22'\s+\}/);
  });
});
