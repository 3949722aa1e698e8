import { parseTemplate } from '@blobferry/cloudformation';
import { DELETE_POLICIES, KEY_LAYOUTS, poisonQueueOf, QUEUE_CONNECTION, QUEUE_NAME_SETTING, SETTING_NAMES } from '@blobferry/contract';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  bicepBlockAfter,
  bicepObjectVarKeys,
  bicepOutputs,
  bicepParams,
  readWorkspaceFile,
  workspaceRoot,
} from './sources.js';

// The names three places must agree on: the Function's settings (libs/contract), the app settings Bicep
// deploys, and the values the CloudFormation stack and the Bicep deployment hand to each other. The
// contract is imported from libs/contract, so this project depends on no app code.
const mainBicep = readWorkspaceFile('infra/bicep/main.bicep');
const functionAppBicep = readWorkspaceFile('infra/bicep/modules/function-app.bicep');
const hostJson = JSON.parse(readWorkspaceFile('apps/backup-function/host.json')) as {
  functionTimeout?: string;
  extensionBundle?: { id: string; version: string };
  extensions?: { queues?: Record<string, unknown> };
};
const queues = hostJson.extensions?.queues ?? {};
/** infra/README.md with its line breaks folded, so a claim may wrap. */
const infraReadme = readWorkspaceFile('infra/README.md').replace(/\s+/g, ' ');
const template = parseTemplate(readWorkspaceFile('infra/aws-iam/template.yaml'), 'infra/aws-iam/template.yaml');
const cfnParameters = template['Parameters'] as Record<string, Record<string, unknown>>;
const cfnOutputs = template['Outputs'] as Record<string, unknown>;
const params = bicepParams(mainBicep);

/**
 * Settings the Function reads that only a local run (or an S3-compatible store) sets: endpoint overrides,
 * what such an endpoint does with checksums and conditional writes (the defaults are Amazon S3's), Azurite's key.
 */
const LOCAL_ONLY_SETTINGS = [
  'AWS_STS_ENDPOINT',
  'S3_ENDPOINT',
  'S3_FORCE_PATH_STYLE',
  'S3_CHECKSUM',
  'S3_CONDITIONAL_WRITES',
  'AZURE_STORAGE_CONNECTION_STRING',
];

/** Settings the Functions host itself reads (identity-based host storage, Entra-authenticated telemetry). */
const HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
];

// The queue trigger's contract (libs/contract).
const queueConnection = QUEUE_CONNECTION;
const queueNameSetting = QUEUE_NAME_SETTING;
/** What poisonQueueOf appends to a queue's name. */
const poisonSuffix = poisonQueueOf('');
/** An identity-based connection: the runtime reads <connection>__queueServiceUri, __credential and __clientId. */
const queueConnectionSettings = ['queueServiceUri', 'credential', 'clientId'].map((suffix) => `${queueConnection}__${suffix}`);

/** The names of the app settings the app settings vars of main.bicep hold (merged into backupAppSettings). */
function deployedBackupSettings(): string[] {
  const merged = /^var backupAppSettings = union\(([^)]*)\)$/m.exec(mainBicep)?.[1];
  expect(merged, 'main.bicep merges the app settings in var backupAppSettings = union(...)').toBeDefined();
  return bicepObjectVarKeys(mainBicep, (merged ?? '').split(',').map((name) => name.trim()));
}

describe('Function settings deployed by Bicep', () => {
  const settingNames: readonly string[] = SETTING_NAMES;
  const deployed = deployedBackupSettings();
  const hostDeployed = bicepObjectVarKeys(functionAppBicep, ['identityHostSettings', 'userAssignedHostSettings']);

  it('deploys only settings the Function or the Functions runtime reads', () => {
    expect(deployed.length).toBeGreaterThanOrEqual(16);
    const readByFunctionOrRuntime = [...settingNames, ...queueConnectionSettings, queueNameSetting];
    expect(deployed.filter((name) => !readByFunctionOrRuntime.includes(name))).toEqual([]);
    expect(hostDeployed.sort()).toEqual([...HOST_SETTINGS].sort());
    expect(functionAppBicep).toContain('var appSettings = union(identityHostSettings, userAssignedHostSettings, backupAppSettings)');
  });

  it('connects the queue trigger with the identity, not a connection string', () => {
    expect(queueConnection).toBe('BACKUP_QUEUE');
    expect(queueNameSetting).toBe('BACKUP_QUEUE_NAME');
    expect(deployed).toEqual(expect.arrayContaining([...queueConnectionSettings, queueNameSetting]));
    expect(deployed).not.toContain(queueConnection);
    expect(mainBicep).toContain(`${queueConnection}__queueServiceUri: hostStorage.outputs.queueServiceUri`);
    expect(mainBicep).toContain(`${queueConnection}__credential: 'managedidentity'`);
    expect(mainBicep).toContain(`var queueClientIdSetting = userAssigned ? { ${queueConnection}__clientId: identity.properties.clientId } : {}`);
    expect(mainBicep).toContain(`${queueNameSetting}: hostStorage.outputs.backupQueueName`);
    // https://<account>.queue.core.windows.net, the form the contract names (no trailing slash)
    expect(readWorkspaceFile('infra/bicep/modules/host-storage.bicep')).toContain(
      "output queueServiceUri string = 'https://${account.name}.queue.${environment().suffixes.storage}'",
    );
  });

  it('deploys every setting the Function reads, except the local-only overrides', () => {
    const missing = settingNames.filter((name) => !deployed.includes(name));
    expect(missing.sort()).toEqual([...LOCAL_ONLY_SETTINGS].sort());
  });

  it('sets AZURE_CLIENT_ID only for a user-assigned identity', () => {
    expect(mainBicep).toMatch(/var clientIdSetting = userAssigned \? \{ AZURE_CLIENT_ID: identity\.properties\.clientId \} : \{\}/);
  });

  it('offers exactly the DELETE_POLICY and KEY_LAYOUT values the Function accepts', () => {
    expect(params.get('deletePolicy')?.allowed).toEqual([...DELETE_POLICIES]);
    expect(params.get('keyLayout')?.allowed).toEqual(['', ...KEY_LAYOUTS]);
  });

  it('delivers events into the queue the trigger reads, and creates the poison queue the runtime writes', () => {
    expect(mainBicep).toContain("param backupQueueName string = 'blob-events'");
    // Event Grid writes into the same queue BACKUP_QUEUE_NAME names.
    expect(bicepBlockAfter(mainBicep, "module eventSubscription 'modules/event-subscription.bicep'")).toContain(
      'queueName: hostStorage.outputs.backupQueueName',
    );
    expect(poisonSuffix).toBe('-poison');
    expect(mainBicep).toContain(`var poisonQueueName = '\${backupQueueName}${poisonSuffix}'`);
    const hostStorage = bicepBlockAfter(mainBicep, "module hostStorage 'modules/host-storage.bicep'");
    expect(hostStorage).toContain('backupQueueName: backupQueueName');
    expect(hostStorage).toContain('poisonQueueName: poisonQueueName');
    // Leaves room for the suffix in a 63-character queue name.
    expect(mainBicep).toMatch(new RegExp(`@maxLength\\(${63 - (poisonSuffix ?? '').length}\\)\\nparam backupQueueName string`));
  });

  it('no longer targets a function endpoint (no webhook-era settings or parameters)', () => {
    const allBicep = ['main.bicep', ...readdirSync(join(workspaceRoot, 'infra/bicep/modules')).map((name) => `modules/${name}`)]
      .map((name) => readWorkspaceFile('infra/bicep', name))
      .join('\n');
    expect(allBicep).not.toMatch(/AzureFunction|functionResourceId|subscribeFunction|param functionName/);
  });
});

describe('host.json, the queue trigger and what infra claims', () => {
  it('reads the message text as Event Grid writes it (messageEncoding none: no base64 decoding by the runtime)', () => {
    expect(queues['messageEncoding']).toBe('none');
  });

  it('moves a message to the poison queue after the number of attempts the README states', () => {
    const stated = /after `maxDequeueCount` \((\d+)\) failed attempts/.exec(infraReadme)?.[1];
    expect(stated, 'infra/README.md states "after `maxDequeueCount` (<n>) failed attempts"').toBeDefined();
    expect(queues['maxDequeueCount']).toBe(Number(stated));
  });

  it('never times a copy out: functionTimeout is unbounded, as the README states and Flex Consumption allows', () => {
    expect(hostJson.functionTimeout).toBe('-1');
    expect(infraReadme).toContain('`functionTimeout` is `-1` (unbounded)');
  });

  it('retries a failed message after the visibilityTimeout the README states; a running one is renewed by the runtime', () => {
    const stated = /`visibilityTimeout` \(`([0-9:.]+)`\)/.exec(infraReadme)?.[1];
    expect(stated, 'infra/README.md states "`visibilityTimeout` (`hh:mm:ss`)"').toBeDefined();
    expect(queues['visibilityTimeout']).toBe(stated);
    // A timespan the runtime accepts; it is the back-off between attempts, not a limit on a copy.
    expect(String(queues['visibilityTimeout'])).toMatch(/^(\d+\.)?([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/);
  });

  it('processes as many messages per instance as the scaling section says (batchSize + newBatchThreshold)', () => {
    const stated = /`batchSize` (\d+) \+ `newBatchThreshold` (\d+) = (\d+) messages at once per instance/.exec(infraReadme);
    expect(stated, 'infra/README.md states "`batchSize` <b> + `newBatchThreshold` <t> = <n> messages at once per instance"').not.toBeNull();
    expect(queues['batchSize']).toBe(Number(stated?.[1]));
    expect(queues['newBatchThreshold']).toBe(Number(stated?.[2]));
    expect(Number(stated?.[1]) + Number(stated?.[2])).toBe(Number(stated?.[3]));
  });

  it('uses the extension bundle Flex Consumption requires ([4.0.0, 5.0.0) or later)', () => {
    expect(hostJson.extensionBundle?.id).toBe('Microsoft.Azure.Functions.ExtensionBundle');
    expect(hostJson.extensionBundle?.version).toMatch(/^\[(4|[5-9])\.(\*|0\.0), /);
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

  it('azure.yaml deploys the package the backup-function build writes, in one provisioning (no hooks)', () => {
    const azure = parseYaml(readWorkspaceFile('azure.yaml')) as {
      infra: { provider: string; path: string; module: string };
      services: Record<string, { project: string; language: string; host: string; dist: string }>;
      hooks?: unknown;
    };
    expect(azure.hooks).toBeUndefined();
    expect(existsSync(join(workspaceRoot, 'infra/hooks'))).toBe(false);
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
