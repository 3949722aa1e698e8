import { parseTemplate } from '@blobferry/cloudformation';
import {
  DELETE_POLICIES,
  KEY_LAYOUTS,
  MAX_DEQUEUE_COUNT,
  poisonQueueOf,
  QUEUE_CONNECTION,
  QUEUE_NAME_SETTING,
  SETTING_NAMES,
  SWEEP_QUEUE_NAME,
} from '@blobferry/contract';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { bicepTemplate, bicepText, functionArguments, identifierName, objectVarEntries, valueAt, type BicepTemplate } from './bicep.js';
import { bicepFiles, readWorkspaceFile, workspaceRoot } from './sources.js';

// The names three places must agree on: the Function's settings (libs/contract), the app settings Bicep
// deploys, and the values the CloudFormation stack and the Bicep deployment hand to each other. The
// contract is imported from libs/contract, so this project depends on no app code.
const main = bicepTemplate('main.bicep');
const functionApp = bicepTemplate('modules/function-app.bicep');
/** The Function app itself, the site function-app.bicep declares. */
const functionAppSite = () => [...functionApp.resources.values()].find((resource) => resource.type === 'Microsoft.Web/sites');
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
const params = main.params;

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

/**
 * The app settings the given object vars hold (`{ NAME: value }`, or either branch of `cond ? { ... } : {}`),
 * each value written as Bicep.
 */
function settingsOf(template: BicepTemplate, varNames: string[]): Map<string, string> {
  return new Map(varNames.flatMap((name) => objectVarEntries(template, name)).map(([setting, value]) => [setting, bicepText(value)]));
}

/** The app settings the app settings vars of main.bicep hold (merged into backupAppSettings). */
function deployedBackupSettings(): Map<string, string> {
  const merged = functionArguments(main.vars.get('backupAppSettings'), 'union');
  expect(merged, 'main.bicep merges the app settings in var backupAppSettings = union(...)').toBeDefined();
  return settingsOf(
    main,
    (merged ?? []).map((arg) => identifierName(arg) ?? bicepText(arg)),
  );
}

describe('Function settings deployed by Bicep', () => {
  const settingNames: readonly string[] = SETTING_NAMES;
  const deployedSettings = deployedBackupSettings();
  const deployed = [...deployedSettings.keys()];
  const hostSettings = settingsOf(functionApp, ['identityHostSettings', 'userAssignedHostSettings']);
  const hostDeployed = [...hostSettings.keys()];

  it('deploys only settings the Function or the Functions runtime reads', () => {
    expect(deployed.length).toBeGreaterThanOrEqual(16);
    const readByFunctionOrRuntime = [...settingNames, ...queueConnectionSettings, queueNameSetting];
    expect(deployed.filter((name) => !readByFunctionOrRuntime.includes(name))).toEqual([]);
    expect(hostDeployed.sort()).toEqual([...HOST_SETTINGS].sort());
    expect(bicepText(functionApp.vars.get('appSettings'))).toBe('union(identityHostSettings, userAssignedHostSettings, backupAppSettings)');
  });

  it('connects the queue trigger with the identity, not a connection string', () => {
    expect(queueConnection).toBe('BACKUP_QUEUE');
    expect(queueNameSetting).toBe('BACKUP_QUEUE_NAME');
    expect(deployed).toEqual(expect.arrayContaining([...queueConnectionSettings, queueNameSetting]));
    expect(deployed).not.toContain(queueConnection);
    expect(deployedSettings.get(`${queueConnection}__queueServiceUri`)).toBe('hostStorage.outputs.queueServiceUri');
    expect(deployedSettings.get(`${queueConnection}__credential`)).toBe("'managedidentity'");
    expect(bicepText(main.vars.get('queueClientIdSetting'))).toBe(
      `userAssigned ? { ${queueConnection}__clientId: identity.properties.clientId } : {}`,
    );
    expect(deployedSettings.get(queueNameSetting)).toBe('hostStorage.outputs.backupQueueName');
    // https://<account>.queue.core.windows.net, the form the contract names (no trailing slash)
    const queueServiceUri = bicepTemplate('modules/host-storage.bicep').outputs.get('queueServiceUri');
    expect(queueServiceUri?.type).toBe('string');
    expect(bicepText(queueServiceUri?.value)).toBe("'https://${account.name}.queue.${environment().suffixes.storage}'");
  });

  it('deploys every setting the Function reads, except the local-only overrides', () => {
    const missing = settingNames.filter((name) => !deployed.includes(name));
    expect(missing.sort()).toEqual([...LOCAL_ONLY_SETTINGS].sort());
  });

  it('sets AZURE_CLIENT_ID only for a user-assigned identity', () => {
    expect(bicepText(main.vars.get('clientIdSetting'))).toBe('userAssigned ? { AZURE_CLIENT_ID: identity.properties.clientId } : {}');
  });

  it('offers exactly the DELETE_POLICY and KEY_LAYOUT values the Function accepts', () => {
    expect(params.get('deletePolicy')?.allowed).toEqual([...DELETE_POLICIES]);
    expect(params.get('keyLayout')?.allowed).toEqual(['', ...KEY_LAYOUTS]);
  });

  it('delivers events into the queue the trigger reads, and creates the poison queue the runtime writes', () => {
    expect(params.get('backupQueueName')).toMatchObject({ type: 'string', default: 'blob-events' });
    // Event Grid writes into the same queue BACKUP_QUEUE_NAME names.
    const eventSubscription = main.modules.get('eventSubscription');
    expect(eventSubscription?.path).toBe('modules/event-subscription.bicep');
    expect(bicepText(eventSubscription?.params['queueName'])).toBe('hostStorage.outputs.backupQueueName');
    expect(poisonSuffix).toBe('-poison');
    expect(main.vars.get('poisonQueueName')).toBe(`\${backupQueueName}${poisonSuffix}`);
    const hostStorage = main.modules.get('hostStorage');
    expect(hostStorage?.path).toBe('modules/host-storage.bicep');
    expect(bicepText(hostStorage?.params['backupQueueName'])).toBe('backupQueueName');
    expect(bicepText(hostStorage?.params['poisonQueueName'])).toBe('poisonQueueName');
    // Leaves room for the suffix in a 63-character queue name.
    expect(params.get('backupQueueName')?.decorators.get('max_length')).toBe(63 - (poisonSuffix ?? '').length);
  });

  it('creates the sweep queue the app names, and the state and dead-letter containers its settings point at', () => {
    expect(main.vars.get('sweepQueueName')).toBe(SWEEP_QUEUE_NAME);
    const hostStorage = main.modules.get('hostStorage');
    expect(bicepText(hostStorage?.params['sweepQueueName'])).toBe('sweepQueueName');
    expect(bicepText(hostStorage?.params['stateContainerName'])).toBe('stateContainerName');
    const deployed = deployedBackupSettings();
    expect(deployed.get('STATE_CONTAINER_URL')).toBe('hostStorage.outputs.stateContainerUrl');
    expect(deployed.get('DEAD_LETTER_CONTAINER_URL')).toBe('hostStorage.outputs.deadLetterContainerUrl');
    // The dead letters of a subscription lie under its name: the same name the subscription is deployed with.
    expect(deployed.get('EVENT_SUBSCRIPTION_NAME')).toBe('eventSubscriptionName');
    expect(bicepText(main.modules.get('eventSubscription')?.params['name'])).toBe('eventSubscriptionName');
    expect(deployed.get('SWEEP_SCHEDULE')).toBe('sweepSchedule');
    // Inventories: the rule source.bicep deploys, and the location infra/aws-iam's InventoryLocation output names.
    expect(deployed.get('INVENTORY_AZURE')).toBe('azureInventory');
    expect(main.vars.get('azureInventory')).toBe('blobferry-inventory/blobferry');
    expect(deployed.get('INVENTORY_S3')).toBe('inventoryS3Location');
    expect(JSON.stringify(cfnOutputs['InventoryLocation'])).toContain('s3://${BucketName}-inventory/inventory/${BucketName}/blobferry/');
    expect(params.get('sweepSchedule')?.default).toBe('0 0 */6 * * *');
  });

  it('no longer targets a function endpoint (no webhook-era settings or parameters)', () => {
    const allBicep = bicepFiles.map((name) => readWorkspaceFile('infra/bicep', name)).join('\n');
    // Not even in a comment.
    expect(allBicep).not.toMatch(/AzureFunction|functionResourceId|subscribeFunction/);
    expect(bicepFiles.filter((file) => bicepTemplate(file).params.has('functionName'))).toEqual([]);
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
    // The sweep's slice trigger gives up on the last delivery the app believes there is.
    expect(queues['maxDequeueCount']).toBe(MAX_DEQUEUE_COUNT);
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

  const deployedSettings = deployedBackupSettings();

  it.each(azureToAws)('Bicep output %s feeds CloudFormation parameter %s', (output, parameter) => {
    expect([...main.outputs.keys()]).toContain(output);
    expect(cfnParameters[parameter], `template parameter ${parameter}`).toBeDefined();
    expect(cfnParameters[parameter]?.['Default'], `${parameter} must be given, not defaulted`).toBeUndefined();
  });

  it.each(awsToAzure)('CloudFormation output %s feeds Bicep parameter %s, deployed as %s', (output, parameter, setting) => {
    expect(cfnOutputs[output], `template output ${output}`).toBeDefined();
    expect(params.get(parameter), `main.bicep param ${parameter}`).toBeDefined();
    expect(deployedSettings.get(setting)).toBe(parameter);
  });

  it('uses the same prefix on both sides', () => {
    expect(cfnParameters['BucketPrefix']).toBeDefined();
    expect(deployedSettings.get('BACKUP_PREFIX')).toBe('backupPrefix');
    expect(deployedSettings.get('TOKEN_AUDIENCE')).toBe('tokenAudience');
  });

  it("trusts the issuer the Function's tokens carry (v1: https://sts.windows.net/<tenant>/)", () => {
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
    const required = [...params.values()].filter((param) => param.default === undefined).map((param) => param.name);
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
    expect(bicepText(functionAppSite()?.body['tags'])).toBe("union(tags, { 'azd-service-name': 'backup-function' })");
    const build = readWorkspaceFile('apps/backup-function/scripts/build-package.mjs');
    // Its default output folder is dist/, the deployable package dist/package/.
    expect(build).toContain("join(projectRoot, 'dist')");
    expect(build).toContain("const packageDir = join(outDir, 'package')");
  });
});

describe('no storage keys anywhere', () => {
  const sources = bicepFiles.map((name) => [name, readWorkspaceFile('infra/bicep', name)] as const);

  it.each(sources)('%s never reads a key or builds a key-bearing connection string', (_name, source) => {
    expect(source).not.toMatch(/listKeys|listAccountSas|listServiceSas|AccountKey=|SharedAccessSignature/);
    expect(source).not.toMatch(/AzureWebJobsStorage:|AzureWebJobsStorage'|AZURE_STORAGE_CONNECTION_STRING/);
  });

  it('every storage account it creates refuses shared keys', () => {
    const accounts = bicepFiles.flatMap((file) =>
      [...bicepTemplate(file).resources.values()]
        .filter((resource) => resource.type === 'Microsoft.Storage/storageAccounts' && !resource.existing)
        .map((resource) => [`${file} ${resource.name}`, resource] as const),
    );
    expect(accounts.length).toBe(2);
    for (const [name, account] of accounts) expect(account.properties['allowSharedKeyAccess'], name).toBe(false);
  });

  it('the host reaches its storage with the managed identity', () => {
    const hostSettings = settingsOf(functionApp, ['identityHostSettings', 'userAssignedHostSettings']);
    expect(hostSettings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(hostSettings.get('AzureWebJobsStorage__accountName')).toBe('hostStorageAccountName');
    expect(hostSettings.get('AzureWebJobsStorage__clientId')).toBe('userAssignedClientId');
    // The deployment package too: the plan reads it with the app's identity.
    const site = functionAppSite();
    expect(bicepText(valueAt(site?.properties, 'functionAppConfig', 'deployment', 'storage', 'authentication'))).toBe(
      'deploymentAuthentication',
    );
    expect(bicepText(functionApp.vars.get('deploymentAuthentication'))).toBe(
      "userAssigned ? { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: userAssignedIdentityId } : { type: 'SystemAssignedIdentity' }",
    );
    expect(valueAt(site?.properties, 'functionAppConfig', 'runtime')).toEqual({ name: 'node', version: '22' });
  });
});
