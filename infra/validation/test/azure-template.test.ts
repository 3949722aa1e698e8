import { INVENTORY_QUEUE_NAME } from '@blobferry/contract';
import { BACKUP_EVENT_TYPES, DELETE_EVENT_TYPES, INCOMPLETE_BLOB_APIS, LOCAL_SUBSCRIPTIONS } from '@blobferry/local-cloud';
import { describe, expect, it } from 'vitest';
import {
  bicepTemplate,
  bicepText,
  functionArguments,
  objectKeysDeep,
  roleAssignments,
  stringLiterals,
  valueAt,
  type BicepResource,
  type BicepValue,
  type BicepTemplate,
} from './bicep.js';
import { bicepFiles, readWorkspaceFile } from './sources.js';

const module = (name: string) => bicepTemplate(`modules/${name}`);
const main = bicepTemplate('main.bicep');

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

/** Every role assignment in the Bicep, with its file; its role id resolved from the file's vars. */
const assignments = bicepFiles.flatMap((file) => roleAssignments(bicepTemplate(file)).map((assignment) => ({ file, ...assignment })));

/** The resources of a template whose type is `type`. */
const resourcesOfType = (template: BicepTemplate, type: string): BicepResource[] =>
  [...template.resources.values()].filter((resource) => resource.type === type);

describe('role assignments', () => {
  it('use only the data-plane roles listed here, never Owner, Contributor or a key-listing role', () => {
    const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const roleIds = new Set(bicepFiles.flatMap((file) => stringLiterals(bicepTemplate(file))).filter((literal) => guid.test(literal)));
    expect([...roleIds].sort()).toEqual(Object.values(ROLES).sort());
  });

  it('are exactly these: principal, role and scope of each', () => {
    const table = assignments.map(({ file, resource, principalId: principal, role, scope }) => ({
      file,
      resource,
      principal,
      role,
      scope,
    }));
    expect(table).toEqual(
      expect.arrayContaining([
        // Function identity
        {
          file: 'modules/source.bicep',
          resource: 'containerReaders',
          principal: 'readerPrincipalId',
          role: ROLES.storageBlobDataReader,
          scope: 'containers[i]',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'hostStorageOwner',
          principal: 'functionPrincipalId',
          role: ROLES.storageBlobDataOwner,
          scope: 'hostStorage',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'telemetryPublisher',
          principal: 'functionPrincipalId',
          role: ROLES.monitoringMetricsPublisher,
          scope: 'appInsights',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'backupQueueReader',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataReader,
          scope: 'backupQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'backupQueueProcessor',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageProcessor,
          scope: 'backupQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'backupQueueUpdater',
          principal: 'functionPrincipalId',
          role: UPDATE_ROLE,
          scope: 'backupQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'poisonQueueSender',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'poisonQueue',
        },
        // Issue 30: index tags read, retries and the sweep's backfill messages sent, poison replayed, the sweep queue.
        {
          file: 'modules/source.bicep',
          resource: 'containerTagsReaders',
          principal: 'readerPrincipalId',
          role: 'tagsReader.id',
          scope: 'containers[i]',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'backupQueueSender',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'backupQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'poisonQueueProcessor',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageProcessor,
          scope: 'poisonQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'sweepQueueReader',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataReader,
          scope: 'sweepQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'sweepQueueProcessor',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageProcessor,
          scope: 'sweepQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'sweepQueueUpdater',
          principal: 'functionPrincipalId',
          role: UPDATE_ROLE,
          scope: 'sweepQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'sweepQueueSender',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'sweepQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'sweepPoisonQueueSender',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'sweepPoisonQueue',
        },
        // Issue 32: the inventory reports (enableInventory only).
        {
          file: 'modules/source.bicep',
          resource: 'inventoryReader',
          principal: 'readerPrincipalId',
          role: ROLES.storageBlobDataReader,
          scope: 'inventoryContainer',
        },
        // Issue 32: the inventory sweep's queue (enableInventory only), which Event Grid writes and its trigger reads.
        {
          file: 'modules/host-roles.bicep',
          resource: 'inventoryQueueReader',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataReader,
          scope: 'inventoryQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'inventoryQueueProcessor',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageProcessor,
          scope: 'inventoryQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'inventoryQueueUpdater',
          principal: 'functionPrincipalId',
          role: UPDATE_ROLE,
          scope: 'inventoryQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'inventoryPoisonQueueSender',
          principal: 'functionPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'inventoryPoisonQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'eventGridInventoryQueueSender',
          principal: 'systemTopicPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'inventoryQueue',
        },
        // Issue 31: the restoring operator, on the containers it may restore into.
        {
          file: 'modules/restore-roles.bicep',
          resource: 'blobWriters',
          principal: 'principalId',
          role: ROLES.storageBlobDataContributor,
          scope: 'containers[i]',
        },
        {
          file: 'modules/restore-roles.bicep',
          resource: 'tagWriters',
          principal: 'principalId',
          role: 'tagsWriter.id',
          scope: 'containers[i]',
        },
        // Event Grid system topic identity
        {
          file: 'modules/host-roles.bicep',
          resource: 'eventGridQueueSender',
          principal: 'systemTopicPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'backupQueue',
        },
        {
          file: 'modules/host-roles.bicep',
          resource: 'deadLetterWriter',
          principal: 'systemTopicPrincipalId',
          role: ROLES.storageBlobDataContributor,
          scope: 'deadLetterContainer',
        },
        // Optional operator (issue 16: blobferry backfill)
        {
          file: 'modules/host-roles.bicep',
          resource: 'operatorQueueSender',
          principal: 'operatorPrincipalId',
          role: ROLES.storageQueueDataMessageSender,
          scope: 'backupQueue',
        },
      ]),
    );
    expect(table).toHaveLength(26);
  });

  it('are scoped to one queue, one container or one resource, never to an account holding queues for a queue role', () => {
    const scopeTypes = Object.fromEntries(
      assignments.map((a) => [a.resource, a.scopeResource?.type ?? `no resource for ${a.scope} in ${a.file}`]),
    );
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
      containerTagsReaders: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      backupQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      poisonQueueProcessor: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      sweepQueueReader: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      sweepQueueProcessor: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      sweepQueueUpdater: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      sweepQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      sweepPoisonQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      inventoryReader: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      inventoryQueueReader: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      inventoryQueueProcessor: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      inventoryQueueUpdater: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      inventoryPoisonQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      eventGridInventoryQueueSender: 'Microsoft.Storage/storageAccounts/queueServices/queues',
      blobWriters: 'Microsoft.Storage/storageAccounts/blobServices/containers',
      tagWriters: 'Microsoft.Storage/storageAccounts/blobServices/containers',
    });
    const roles = module('host-roles.bicep');
    for (const [queue, name] of [
      ['backupQueue', 'backupQueueName'],
      ['poisonQueue', 'poisonQueueName'],
      ['sweepQueue', 'sweepQueueName'],
      ['sweepPoisonQueue', "'${sweepQueueName}-poison'"],
      ['inventoryQueue', 'inventoryQueueName'],
      ['inventoryPoisonQueue', "'${inventoryQueueName}-poison'"],
    ] as const) {
      const declared = roles.resources.get(queue);
      expect(declared?.type).toBe('Microsoft.Storage/storageAccounts/queueServices/queues');
      expect(bicepText(declared?.body['name'])).toBe(name);
    }
  });

  it('give the Function Update Message through a custom role with that one data action (or, by choice, the built-in Contributor)', () => {
    const roles = module('host-roles.bicep');
    const [definition] = resourcesOfType(roles, 'Microsoft.Authorization/roleDefinitions');
    expect(bicepText(definition?.condition)).toBe('customUpdateRole');
    expect(definition?.properties['permissions']).toMatchObject([
      { dataActions: ['Microsoft.Storage/storageAccounts/queueServices/queues/messages/write'], actions: [] },
    ]);
    expect(bicepText(definition?.properties['assignableScopes'])).toBe('[resourceGroup().id]');
    expect(bicepText(roles.vars.get('customUpdateRole'))).toBe("queueMessageUpdateRole == 'CustomRole'");
    expect(bicepText(roles.vars.get('queueMessageUpdateRoleId'))).toBe(
      'customUpdateRole ? queueMessageUpdater.name : storageQueueDataContributorRoleId',
    );
    expect(bicepText(roles.vars.get(UPDATE_ROLE))).toBe(
      "subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageUpdateRoleId)",
    );
    expect(main.params.get('queueMessageUpdateRole')).toMatchObject({
      type: 'string',
      default: 'CustomRole',
      allowed: ['CustomRole', 'StorageQueueDataContributor'],
    });
  });

  it('give the backup identity index tags read through a custom role with that one data action, on the backed-up containers', () => {
    const source = module('source.bicep');
    const [definition] = resourcesOfType(source, 'Microsoft.Authorization/roleDefinitions');
    expect(definition?.name).toBe('tagsReader');
    expect(definition?.properties['permissions']).toEqual([
      {
        actions: [],
        notActions: [],
        dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read'],
        notDataActions: [],
      },
    ]);
    expect(bicepText(definition?.properties['assignableScopes'])).toBe('[resourceGroup().id]');
  });

  it('give an operator exactly Message Sender on the backup queue, and only when operatorPrincipalId is set', () => {
    const operator = assignments.filter((a) => a.principalId.startsWith('operator'));
    expect(operator.map((a) => [a.resource, a.role, a.scope, a.condition])).toEqual([
      ['operatorQueueSender', ROLES.storageQueueDataMessageSender, 'backupQueue', '!empty(operatorPrincipalId)'],
    ]);
    expect(operator[0]?.principalType).toBe('operatorPrincipalType');
    expect(main.params.get('operatorPrincipalId')).toMatchObject({ type: 'string', default: '' });
    expect(main.params.get('operatorPrincipalType')?.allowed).toEqual(['User', 'Group', 'ServicePrincipal']);
    const hostRoles = main.modules.get('hostRoles');
    expect(hostRoles?.path).toBe('modules/host-roles.bicep');
    expect(bicepText(hostRoles?.params['operatorPrincipalId'])).toBe('operatorPrincipalId');
    expect(bicepText(hostRoles?.params['operatorPrincipalType'])).toBe('operatorPrincipalType');
    // No other module is handed the operator (not even in a comment).
    const others = bicepFiles.filter((file) => !['main.bicep', 'modules/host-roles.bicep'].includes(file));
    expect(others.filter((file) => readWorkspaceFile('infra/bicep', file).includes('operatorPrincipal'))).toEqual([]);
  });

  it('the other assignments are unconditional, but for the opt-in inventory reader and inventory queue', () => {
    expect(
      assignments
        .filter((a) => a.condition !== undefined)
        .map((a) => [a.resource, a.condition])
        .sort(),
    ).toEqual([
      ['eventGridInventoryQueueSender', 'inventoryOn'],
      ['inventoryPoisonQueueSender', 'inventoryOn'],
      ['inventoryQueueProcessor', 'inventoryOn'],
      ['inventoryQueueReader', 'inventoryOn'],
      ['inventoryQueueUpdater', 'inventoryOn'],
      ['inventoryReader', 'enableInventory'],
      ['operatorQueueSender', '!empty(operatorPrincipalId)'],
    ]);
    // The inventory queue's grants follow the queue, which main.bicep names only with enableInventory.
    expect(bicepText(module('host-roles.bicep').vars.get('inventoryOn'))).toBe('!empty(inventoryQueueName)');
    expect(bicepText(main.modules.get('hostStorage')?.params['inventoryQueueName'])).toBe("enableInventory ? inventoryQueueName : ''");
    expect(bicepText(main.modules.get('hostRoles')?.params['inventoryQueueName'])).toBe('hostStorage.outputs.inventoryQueueName');
    // The restore roles are a module deployed only for a named principal and named containers.
    expect(bicepText(main.modules.get('restoreRoles')?.condition)).toBe('!empty(restorePrincipalId) && !empty(restoreContainers)');
  });

  it('give a restoring operator blob writes and index tag writes on the named containers only, tags through a one-action custom role', () => {
    const roles = module('restore-roles.bicep');
    const [definition] = resourcesOfType(roles, 'Microsoft.Authorization/roleDefinitions');
    expect(definition?.properties['permissions']).toEqual([
      {
        actions: [],
        notActions: [],
        dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write'],
        notDataActions: [],
      },
    ]);
    const restoreRoles = main.modules.get('restoreRoles');
    expect(bicepText(restoreRoles?.params['containerNames'])).toBe("split(restoreContainers, ',')");
    expect(bicepText(restoreRoles?.params['principalId'])).toBe('restorePrincipalId');
    expect(main.params.get('restorePrincipalId')).toMatchObject({ type: 'string', default: '' });
    // Never the backup identity's S3 access: a restore reads S3 through the AWS restore role only.
    expect(readWorkspaceFile('infra/bicep/modules/restore-roles.bicep')).not.toMatch(/readerPrincipalId|functionPrincipalId/);
  });

  it("turn on Azure Blob Inventory only when asked (it replaces the account's policy), with the fields the join needs", () => {
    const source = module('source.bicep');
    const policy = source.resources.get('inventoryPolicy');
    expect(policy?.type).toBe('Microsoft.Storage/storageAccounts/inventoryPolicies');
    expect(bicepText(policy?.condition)).toBe('enableInventory');
    expect(bicepText(policy?.body['name'])).toBe("'default'");
    const [rule] = valueAt(policy?.properties, 'policy', 'rules') as BicepValue[];
    expect(valueAt(rule, 'name')).toBe('blobferry');
    expect(valueAt(rule, 'definition', 'format')).toBe('Parquet');
    expect(valueAt(rule, 'definition', 'schedule')).toBe('Daily');
    const fields = (valueAt(rule, 'definition', 'schemaFields') as string[]).map((field) => field.toLowerCase());
    expect(fields).toEqual(
      expect.arrayContaining(['name', 'content-length', 'last-modified', 'etag', 'content-md5', 'blobtype', 'accesstier']),
    );
    expect(main.params.get('enableInventory')).toMatchObject({ type: 'bool', default: false });
  });
});

describe('the backup queue', () => {
  const storage = module('host-storage.bicep');

  it('lives in the host account, which accepts identities only', () => {
    const [account] = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts');
    expect(account?.properties).toMatchObject({
      allowSharedKeyAccess: false,
      minimumTlsVersion: 'TLS1_2',
      allowBlobPublicAccess: false,
      supportsHttpsTrafficOnly: true,
    });
    const queues = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts/queueServices/queues');
    expect(queues.map((q) => [q.name, bicepText(q.body['name']), q.condition === undefined ? undefined : bicepText(q.condition)])).toEqual([
      ['backupQueue', 'backupQueueName', undefined],
      ['poisonQueue', 'poisonQueueName', undefined],
      ['sweepQueue', 'sweepQueueName', undefined],
      ['sweepPoisonQueue', "'${sweepQueueName}-poison'", undefined],
      ['inventoryQueue', 'inventoryQueueName', '!empty(inventoryQueueName)'],
      ['inventoryPoisonQueue', "'${inventoryQueueName}-poison'", '!empty(inventoryQueueName)'],
    ]);
    expect(bicepText(main.modules.get('eventSubscription')?.params['queueStorageAccountId'])).toBe('hostStorage.outputs.id');
  });
});

describe('event delivery', () => {
  const source = module('event-subscription.bicep');
  const subscription = source.resources.get('subscription');
  const properties = subscription?.properties ?? {};
  const delivery = valueAt(properties, 'deliveryWithResourceIdentity');
  /** The advanced filters, each written as Bicep. */
  const advancedFilters = () => [valueAt(properties, 'filter', 'advancedFilters') ?? []].flat().map(bicepText);
  /** The strings of an array variable; fails the test on anything else. */
  const stringArrayVar = (name: string): string[] => {
    const value = source.vars.get(name);
    expect(Array.isArray(value) && value.every((item) => typeof item === 'string'), `var ${name} is an array of string literals`).toBe(
      true,
    );
    return value as string[];
  };

  it('writes to the Storage queue with the system topic identity, messages never expiring, in the Event Grid schema', () => {
    expect(subscription?.type).toBe('Microsoft.EventGrid/systemTopics/eventSubscriptions');
    expect(valueAt(delivery, 'identity')).toEqual({ type: 'SystemAssigned' });
    expect(valueAt(delivery, 'destination', 'endpointType')).toBe('StorageQueue');
    const queue = valueAt(delivery, 'destination', 'properties');
    expect(bicepText(valueAt(queue, 'resourceId'))).toBe('queueStorageAccountId');
    expect(bicepText(valueAt(queue, 'queueName'))).toBe('queueName');
    expect(bicepText(valueAt(queue, 'queueMessageTimeToLiveInSeconds'))).toBe('-1');
    expect(properties['eventDeliverySchema']).toBe('EventGridSchema');
    // The only destination is the identity-based one.
    const { deliveryWithResourceIdentity: _identityBased, ...otherProperties } = properties;
    expect(objectKeysDeep(otherProperties)).not.toContain('destination');
    expect(module('source.bicep').resources.get('systemTopic')?.body['identity']).toEqual({ type: 'SystemAssigned' });
  });

  it('delivers BlobCreated, BlobTierChanged and renames; BlobDeleted and DirectoryDeleted with DELETE_POLICY=delete-marker', () => {
    expect(source.vars.get('alwaysEventTypes')).toEqual([
      'Microsoft.Storage.BlobCreated',
      'Microsoft.Storage.BlobTierChanged',
      'Microsoft.Storage.BlobRenamed',
      'Microsoft.Storage.DirectoryRenamed',
    ]);
    expect(source.vars.get('deleteEventTypes')).toEqual(['Microsoft.Storage.BlobDeleted', 'Microsoft.Storage.DirectoryDeleted']);
    expect(bicepText(source.vars.get('eventTypes'))).toBe(
      'includeBlobDeleted ? concat(alwaysEventTypes, deleteEventTypes) : alwaysEventTypes',
    );
    expect(bicepText(valueAt(properties, 'filter', 'includedEventTypes'))).toBe('eventTypes');
    expect(bicepText(main.modules.get('eventSubscription')?.params['includeBlobDeleted'])).toBe("deletePolicy == 'delete-marker'");
  });

  it('passes every operation but CreateFile and SftpCreate, which announce a blob still being written (data.api StringNotIn)', () => {
    expect(stringArrayVar('incompleteBlobApis')).toEqual(['CreateFile', 'SftpCreate']);
    expect(advancedFilters()).toContain("{ operatorType: 'StringNotIn', key: 'data.api', values: incompleteBlobApis }");
    expect(advancedFilters().filter((filter) => filter.includes("key: 'data.api'"))).toHaveLength(1);
  });

  it('keeps the subject prefix filter per allowed container', () => {
    expect(advancedFilters()).toContain("{ operatorType: 'StringBeginsWith', key: 'subject', values: subjectPrefixes }");
    expect(bicepText(source.vars.get('subjectPrefixes'))).toBe(
      "[for container in containerNames: '/blobServices/default/containers/${container}/blobs/']",
    );
  });

  it("stays within Event Grid's 25 advanced-filter values per subscription", () => {
    const containerNames = source.params.get('containerNames');
    expect(containerNames?.type).toBe('array');
    const maxContainers = Number(containerNames?.decorators.get('max_length'));
    const apiValues = stringArrayVar('incompleteBlobApis').length;
    expect(maxContainers + apiValues).toBeLessThanOrEqual(25);
    expect(main.params.get('sourceContainers')?.description).toContain(`(at most ${maxContainers}:`);
  });

  it('retries, then dead-letters with the topic identity (no storage key or SAS)', () => {
    expect(bicepText(valueAt(properties, 'retryPolicy', 'maxDeliveryAttempts'))).toBe('maxDeliveryAttempts');
    const deadLetter = valueAt(properties, 'deadLetterWithResourceIdentity');
    expect(valueAt(deadLetter, 'identity')).toEqual({ type: 'SystemAssigned' });
    expect(valueAt(deadLetter, 'deadLetterDestination', 'endpointType')).toBe('StorageBlob');
  });

  it("is created by the one deployment, after the topic's roles", () => {
    const eventSubscription = main.modules.get('eventSubscription');
    expect(eventSubscription).toMatchObject({ path: 'modules/event-subscription.bicep', condition: undefined, loop: undefined });
    expect(bicepText(eventSubscription?.body['dependsOn'])).toBe('[hostRoles]');
  });
});

describe('alerts', () => {
  const alerts = module('alerts.bicep');

  it('fire on failed invocations, exceptions and dead-lettered events', () => {
    const criteria = resourcesOfType(alerts, 'Microsoft.Insights/metricAlerts').flatMap(
      (alert) => valueAt(alert.properties, 'criteria', 'allOf') ?? [],
    );
    const metricNames = criteria.map((criterion) => valueAt(criterion, 'metricName'));
    expect(metricNames).toEqual(expect.arrayContaining(['requests/failed', 'exceptions/count', 'DeadLetteredCount']));
  });

  it("fire when a message lands in the poison queue, from the queue's own write log or the runtime's warning", () => {
    const [rule] = resourcesOfType(alerts, 'Microsoft.Insights/scheduledQueryRules');
    expect(rule?.condition).toBeUndefined();
    const ruleProperties = rule?.properties ?? {};
    const criterion = valueAt(ruleProperties, 'criteria', 'allOf', 0);
    expect(bicepText(valueAt(criterion, 'query'))).toBe('poisonQueueQuery');
    expect(criterion).toMatchObject({ operator: 'GreaterThan', threshold: 0 });
    expect(bicepText(ruleProperties['scopes'])).toBe('[workspaceId]');
    expect(ruleProperties['severity']).toBe(1);
    expect(bicepText(valueAt(ruleProperties, 'actions', 'actionGroups'))).toBe('notify ? [actionGroup.id] : []');
    // join([...lines], '\n'): the lines as written between their quotes (so \' stays escaped).
    const [lines, separator] = functionArguments(alerts.vars.get('poisonQueueQuery'), 'join') ?? [];
    expect(separator).toBe('\\n');
    const fullQuery = [lines ?? []].flat().join('\n');
    expect(fullQuery).toContain('StorageQueueLogs');
    expect(fullQuery).toContain("OperationName == \\'PutMessage\\'");
    expect(fullQuery).toContain("Uri contains \\'/${poisonQueueName}/messages\\'");
    expect(fullQuery).toContain('AppTraces');
    expect(fullQuery).toContain("Moving message to queue \\'${poisonQueueName}\\'");
    // The queue service's write operations reach the workspace the rule queries.
    const [diagnostics] = resourcesOfType(alerts, 'Microsoft.Insights/diagnosticSettings');
    expect(bicepText(diagnostics?.body['scope'])).toBe('queueService');
    expect(bicepText(diagnostics?.properties['workspaceId'])).toBe('workspaceId');
    expect(diagnostics?.properties['logs']).toContainEqual({ category: 'StorageWrite', enabled: true });
    const wired = main.modules.get('alerts');
    expect(wired?.path).toBe('modules/alerts.bicep');
    expect(bicepText(wired?.params['poisonQueueName'])).toBe('hostStorage.outputs.poisonQueueName');
    expect(bicepText(wired?.params['queueStorageAccountName'])).toBe('hostStorage.outputs.name');
    expect(bicepText(wired?.params['workspaceId'])).toBe('monitoring.outputs.workspaceId');
  });
});

describe('inventory completion delivery', () => {
  const inventory = module('inventory-subscription.bicep');
  const properties = inventory.resources.get('subscription')?.properties ?? {};

  it('delivers only BlobInventoryPolicyCompleted, into the inventory queue the app reads, with the identity', () => {
    expect(valueAt(properties, 'filter', 'includedEventTypes')).toEqual(['Microsoft.Storage.BlobInventoryPolicyCompleted']);
    expect(valueAt(properties, 'deliveryWithResourceIdentity', 'destination', 'endpointType')).toBe('StorageQueue');
    expect(valueAt(properties, 'deliveryWithResourceIdentity', 'identity', 'type')).toBe('SystemAssigned');
    const deployed = main.modules.get('inventorySubscription');
    expect(bicepText(deployed?.condition)).toBe('enableInventory');
    expect(bicepText(deployed?.params['queueName'])).toBe('inventoryQueueName');
    expect(main.vars.get('inventoryQueueName')).toBe(INVENTORY_QUEUE_NAME);
  });

  it('is what the local cloud delivers, subscription by subscription, so local tests see what Azure would deliver', () => {
    const backup = module('event-subscription.bicep');
    expect(backup.vars.get('alwaysEventTypes')).toEqual([...BACKUP_EVENT_TYPES]);
    expect(backup.vars.get('deleteEventTypes')).toEqual([...DELETE_EVENT_TYPES]);
    expect(backup.vars.get('incompleteBlobApis')).toEqual([...INCOMPLETE_BLOB_APIS]);
    expect(valueAt(properties, 'filter', 'includedEventTypes')).toEqual([...LOCAL_SUBSCRIPTIONS.inventory.filter.includedEventTypes]);
    expect(LOCAL_SUBSCRIPTIONS.inventory.queueName).toBe(INVENTORY_QUEUE_NAME);
  });
});
