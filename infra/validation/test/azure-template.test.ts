import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  bicepBlockAfter,
  bicepParams,
  bicepResources,
  bicepStringArray,
  bicepStringVars,
  bicepVar,
  readWorkspaceFile,
  workspaceRoot,
} from './sources.js';

const module = (name: string) => readWorkspaceFile('infra/bicep/modules', name);
const bicepFiles = ['main.bicep', ...readdirSync(join(workspaceRoot, 'infra/bicep/modules')).map((name) => `modules/${name}`)];
const allBicep = bicepFiles.map((name) => readWorkspaceFile('infra/bicep', name)).join('\n');
const mainBicep = readWorkspaceFile('infra/bicep/main.bicep');

// Built-in role definition ids (docs: "Azure built-in roles for Storage" / "for Monitor").
const ROLES = {
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
  storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925',
  storageQueueDataMessageProcessor: '8a0f0c08-91a1-4084-bc3d-661d67233fed',
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
  // Only as the alternative to the custom Update Message role (queueMessageUpdateRole).
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
};
/** The custom role's symbolic name stands for its role id. */
const UPDATE_ROLE = 'queueMessageUpdateRoleDefinitionId';

interface Assignment {
  file: string;
  resource: string;
  principal: string;
  role: string;
  scope: string;
  condition: string | undefined;
}

/** Every role assignment in the Bicep, with its principal, role id (resolved from the file's vars) and scope. */
function roleAssignments(): Assignment[] {
  return bicepFiles.flatMap((file) => {
    const source = readWorkspaceFile('infra/bicep', file);
    const vars = bicepStringVars(source);
    return bicepResources(source, 'Microsoft.Authorization/roleAssignments@').map((resource) => {
      const field = (name: string) => new RegExp(`\\n\\s+${name}: (.+)\\n`).exec(resource.block)?.[1]?.trim() ?? '';
      const roleExpression = field('roleDefinitionId');
      const builtIn = /^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', (\w+)\)$/.exec(roleExpression)?.[1];
      return {
        file,
        resource: resource.name,
        principal: field('principalId'),
        role: builtIn ? (vars.get(builtIn) ?? `unresolved ${builtIn}`) : roleExpression,
        scope: field('scope'),
        condition: resource.condition,
      };
    });
  });
}

/** The existing/declared resource a symbolic name refers to in a file, e.g. its type. */
function resourceType(file: string, symbol: string): string {
  const base = symbol.replace(/\[.*\]$/, '');
  const match = new RegExp(`^resource ${base} '([^@']+)@`, 'm').exec(readWorkspaceFile('infra/bicep', file));
  return match?.[1] ?? `no resource ${base} in ${file}`;
}

describe('role assignments', () => {
  const assignments = roleAssignments();

  it('use only the data-plane roles listed here, never Owner, Contributor or a key-listing role', () => {
    const roleIds = new Set([...allBicep.matchAll(/'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/g)].map((match) => match[1]));
    expect([...roleIds].sort()).toEqual(Object.values(ROLES).sort());
  });

  it('are exactly these: principal, role and scope of each', () => {
    const table = assignments.map(({ file, resource, principal, role, scope }) => ({ file, resource, principal, role, scope }));
    expect(table).toEqual(
      expect.arrayContaining([
        // Function identity
        { file: 'modules/source.bicep', resource: 'containerReaders', principal: 'readerPrincipalId', role: ROLES.storageBlobDataReader, scope: 'containers[i]' },
        { file: 'modules/host-roles.bicep', resource: 'hostStorageOwner', principal: 'functionPrincipalId', role: ROLES.storageBlobDataOwner, scope: 'hostStorage' },
        { file: 'modules/host-roles.bicep', resource: 'telemetryPublisher', principal: 'functionPrincipalId', role: ROLES.monitoringMetricsPublisher, scope: 'appInsights' },
        { file: 'modules/host-roles.bicep', resource: 'backupQueueReader', principal: 'functionPrincipalId', role: ROLES.storageQueueDataReader, scope: 'backupQueue' },
        { file: 'modules/host-roles.bicep', resource: 'backupQueueProcessor', principal: 'functionPrincipalId', role: ROLES.storageQueueDataMessageProcessor, scope: 'backupQueue' },
        { file: 'modules/host-roles.bicep', resource: 'backupQueueUpdater', principal: 'functionPrincipalId', role: UPDATE_ROLE, scope: 'backupQueue' },
        { file: 'modules/host-roles.bicep', resource: 'poisonQueueSender', principal: 'functionPrincipalId', role: ROLES.storageQueueDataMessageSender, scope: 'poisonQueue' },
        // Event Grid system topic identity
        { file: 'modules/host-roles.bicep', resource: 'eventGridQueueSender', principal: 'systemTopicPrincipalId', role: ROLES.storageQueueDataMessageSender, scope: 'backupQueue' },
        { file: 'modules/host-roles.bicep', resource: 'deadLetterWriter', principal: 'systemTopicPrincipalId', role: ROLES.storageBlobDataContributor, scope: 'deadLetterContainer' },
        // Optional operator (issue 16: blobferry backfill)
        { file: 'modules/host-roles.bicep', resource: 'operatorQueueSender', principal: 'operatorPrincipalId', role: ROLES.storageQueueDataMessageSender, scope: 'backupQueue' },
      ]),
    );
    expect(table).toHaveLength(10);
  });

  it('are scoped to one queue, one container or one resource, never to an account holding queues for a queue role', () => {
    const scopeTypes = Object.fromEntries(assignments.map((a) => [a.resource, resourceType(a.file, a.scope)]));
    expect(scopeTypes).toEqual({
      containerReaders: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      hostStorageOwner: 'Microsoft.Storage/storageAccounts',
      telemetryPublisher: 'Microsoft.Insights/components',
      backupQueueReader: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      backupQueueProcessor: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      backupQueueUpdater: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      poisonQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      eventGridQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      deadLetterWriter: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      operatorQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
    });
    const roles = module('host-roles.bicep');
    expect(bicepBlockAfter(roles, "resource backupQueue 'Microsoft.Storage/storageAccounts/queueServices/queues")).toContain('name: backupQueueName');
    expect(bicepBlockAfter(roles, "resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues")).toContain('name: poisonQueueName');
  });

  it('give the Function Update Message through a custom role with that one data action (or, by choice, the built-in Contributor)', () => {
    const roles = module('host-roles.bicep');
    const [definition] = bicepResources(roles, 'Microsoft.Authorization/roleDefinitions@');
    expect(definition?.condition).toBe('customUpdateRole');
    expect(definition?.block).toContain("dataActions: ['Microsoft.Storage/storageAccounts/queueServices/queues/messages/write']");
    expect(definition?.block).toContain('actions: []');
    expect(definition?.block).toContain('assignableScopes: [resourceGroup().id]');
    expect(roles).toContain("var customUpdateRole = queueMessageUpdateRole == 'CustomRole'");
    expect(bicepVar(roles, 'queueMessageUpdateRoleId')).toBe('customUpdateRole ? queueMessageUpdater.name : storageQueueDataContributorRoleId');
    expect(bicepVar(roles, UPDATE_ROLE)).toBe("subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageUpdateRoleId)");
    expect(bicepParams(mainBicep).get('queueMessageUpdateRole')).toMatchObject({ allowed: ['CustomRole', 'StorageQueueDataContributor'], hasDefault: true });
    expect(mainBicep).toContain("param queueMessageUpdateRole string = 'CustomRole'");
  });

  it('give an operator exactly Message Sender on the backup queue, and only when operatorPrincipalId is set', () => {
    const operator = assignments.filter((a) => a.principal.startsWith('operator'));
    expect(operator.map((a) => [a.resource, a.role, a.scope, a.condition])).toEqual([
      ['operatorQueueSender', ROLES.storageQueueDataMessageSender, 'backupQueue', '!empty(operatorPrincipalId)'],
    ]);
    expect(bicepBlockAfter(module('host-roles.bicep'), "resource operatorQueueSender 'Microsoft.Authorization/roleAssignments")).toContain(
      'principalType: operatorPrincipalType',
    );
    expect(mainBicep).toContain("param operatorPrincipalId string = ''");
    expect(bicepParams(mainBicep).get('operatorPrincipalType')?.allowed).toEqual(['User', 'Group', 'ServicePrincipal']);
    const hostRoles = bicepBlockAfter(mainBicep, "module hostRoles 'modules/host-roles.bicep'");
    expect(hostRoles).toContain('operatorPrincipalId: operatorPrincipalId');
    expect(hostRoles).toContain('operatorPrincipalType: operatorPrincipalType');
    // No other module is handed the operator.
    const others = bicepFiles.filter((file) => !['main.bicep', 'modules/host-roles.bicep'].includes(file));
    expect(others.filter((file) => readWorkspaceFile('infra/bicep', file).includes('operatorPrincipal'))).toEqual([]);
  });

  it('the other assignments are unconditional', () => {
    expect(assignments.filter((a) => a.condition !== undefined).map((a) => a.resource)).toEqual(['operatorQueueSender']);
  });
});

describe('the backup queue', () => {
  const storage = module('host-storage.bicep');

  it('lives in the host account, which accepts identities only', () => {
    const [account] = bicepResources(storage, 'Microsoft.Storage/storageAccounts@');
    for (const setting of ['allowSharedKeyAccess: false', "minimumTlsVersion: 'TLS1_2'", 'allowBlobPublicAccess: false', 'supportsHttpsTrafficOnly: true']) {
      expect(account?.block).toContain(setting);
    }
    const queues = bicepResources(storage, 'Microsoft.Storage/storageAccounts/queueServices/queues@');
    expect(queues.map((q) => [q.name, /name: (\w+)/.exec(q.block)?.[1], q.condition])).toEqual([
      ['backupQueue', 'backupQueueName', undefined],
      ['poisonQueue', 'poisonQueueName', undefined],
    ]);
    expect(bicepBlockAfter(mainBicep, "module eventSubscription 'modules/event-subscription.bicep'")).toContain(
      'queueStorageAccountId: hostStorage.outputs.id',
    );
  });
});

describe('event delivery', () => {
  const source = module('event-subscription.bicep');
  const subscription = bicepBlockAfter(source, "resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions");
  const delivery = bicepBlockAfter(subscription, 'deliveryWithResourceIdentity:');

  it('writes to the Storage queue with the system topic identity, messages never expiring, in the Event Grid schema', () => {
    expect(delivery).toContain("identity: { type: 'SystemAssigned' }");
    expect(delivery).toContain("endpointType: 'StorageQueue'");
    expect(delivery).toContain('resourceId: queueStorageAccountId');
    expect(delivery).toContain('queueName: queueName');
    expect(delivery).toContain('queueMessageTimeToLiveInSeconds: -1');
    expect(subscription).toContain("eventDeliverySchema: 'EventGridSchema'");
    // The only destination is the identity-based one.
    expect(subscription.replace(delivery, '')).not.toMatch(/\bdestination:/);
    expect(module('source.bicep')).toMatch(/resource systemTopic [^\n]+\n(?:.*\n)*? {2}identity: \{ type: 'SystemAssigned' \}/);
  });

  it('delivers BlobCreated, and BlobDeleted with DELETE_POLICY=delete-marker', () => {
    expect(bicepVar(source, 'eventTypes')).toBe(
      "includeBlobDeleted ? ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted'] : ['Microsoft.Storage.BlobCreated']",
    );
    expect(subscription).toContain('includedEventTypes: eventTypes');
    expect(mainBicep).toContain("includeBlobDeleted: deletePolicy == 'delete-marker'");
  });

  it('passes only operations that complete or delete a blob (data.api StringIn), never CreateFile or SftpCreate', () => {
    const completed = bicepStringArray(bicepVar(source, 'blobCompletedApis'));
    const deleted = bicepStringArray(bicepVar(source, 'blobDeletedApis'));
    expect(completed).toEqual(['PutBlob', 'PutBlockList', 'CopyBlob', 'FlushWithClose', 'SftpCommit']);
    expect(deleted).toEqual(['DeleteBlob', 'DeleteFile', 'SftpRemove']);
    expect([...completed, ...deleted]).not.toEqual(expect.arrayContaining(['CreateFile']));
    expect([...completed, ...deleted]).not.toEqual(expect.arrayContaining(['SftpCreate']));
    expect(bicepVar(source, 'deliveredApis')).toBe('includeBlobDeleted ? concat(blobCompletedApis, blobDeletedApis) : blobCompletedApis');
    expect(subscription).toMatch(/operatorType: 'StringIn'\n\s+key: 'data\.api'\n\s+values: deliveredApis/);
  });

  it('keeps the subject prefix filter per allowed container', () => {
    expect(subscription).toMatch(/operatorType: 'StringBeginsWith'\n\s+key: 'subject'\n\s+values: subjectPrefixes/);
    expect(source).toContain("var subjectPrefixes = [for container in containerNames: '/blobServices/default/containers/${container}/blobs/']");
  });

  it('stays within Event Grid\'s 25 advanced-filter values per subscription', () => {
    const maxContainers = Number(/@maxLength\((\d+)\)\nparam containerNames array/.exec(source)?.[1]);
    const apiValues = bicepStringArray(bicepVar(source, 'blobCompletedApis')).length + bicepStringArray(bicepVar(source, 'blobDeletedApis')).length;
    expect(maxContainers + apiValues).toBeLessThanOrEqual(25);
    expect(mainBicep).toContain(`(at most ${maxContainers}:`);
  });

  it('retries, then dead-letters with the topic identity (no storage key or SAS)', () => {
    expect(subscription).toContain('maxDeliveryAttempts: maxDeliveryAttempts');
    const deadLetter = bicepBlockAfter(subscription, 'deadLetterWithResourceIdentity:');
    expect(deadLetter).toContain("identity: { type: 'SystemAssigned' }");
    expect(deadLetter).toContain("endpointType: 'StorageBlob'");
  });

  it('is created by the one deployment, after the topic\'s roles', () => {
    expect(mainBicep).toContain("module eventSubscription 'modules/event-subscription.bicep' = {");
    expect(bicepBlockAfter(mainBicep, "module eventSubscription 'modules/event-subscription.bicep'")).toContain('dependsOn: [hostRoles]');
  });
});

describe('alerts', () => {
  const alerts = module('alerts.bicep');

  it('fire on failed invocations, exceptions and dead-lettered events', () => {
    expect(alerts).toContain("metricName: 'requests/failed'");
    expect(alerts).toContain("metricName: 'exceptions/count'");
    expect(alerts).toContain("metricName: 'DeadLetteredCount'");
  });

  it('fire when a message lands in the poison queue, from the queue\'s own write log or the runtime\'s warning', () => {
    const [rule] = bicepResources(alerts, 'Microsoft.Insights/scheduledQueryRules@');
    expect(rule?.condition).toBeUndefined();
    expect(rule?.block).toContain('query: poisonQueueQuery');
    expect(rule?.block).toContain('scopes: [workspaceId]');
    expect(rule?.block).toMatch(/operator: 'GreaterThan'\n\s+threshold: 0/);
    expect(rule?.block).toContain('severity: 1');
    expect(rule?.block).toContain('actionGroups: notify ? [actionGroup.id] : []');
    const fullQuery = alerts.slice(alerts.indexOf('var poisonQueueQuery = join(['), alerts.indexOf("], '\\n')"));
    expect(fullQuery).toContain('StorageQueueLogs');
    expect(fullQuery).toContain("OperationName == \\'PutMessage\\'");
    expect(fullQuery).toContain("Uri contains \\'/${poisonQueueName}/messages\\'");
    expect(fullQuery).toContain('AppTraces');
    expect(fullQuery).toContain('Moving message to queue \\\'${poisonQueueName}\\\'');
    // The queue service's write operations reach the workspace the rule queries.
    const [diagnostics] = bicepResources(alerts, 'Microsoft.Insights/diagnosticSettings@');
    expect(diagnostics?.block).toContain('scope: queueService');
    expect(diagnostics?.block).toContain('workspaceId: workspaceId');
    expect(diagnostics?.block).toMatch(/category: 'StorageWrite'\n\s+enabled: true/);
    const wired = bicepBlockAfter(mainBicep, "module alerts 'modules/alerts.bicep'");
    expect(wired).toContain('poisonQueueName: hostStorage.outputs.poisonQueueName');
    expect(wired).toContain('queueStorageAccountName: hostStorage.outputs.name');
    expect(wired).toContain('workspaceId: monitoring.outputs.workspaceId');
  });
});
