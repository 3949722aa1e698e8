import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bicepBlockAfter, readWorkspaceFile, workspaceRoot } from './sources.js';

const module = (name: string) => readWorkspaceFile('infra/bicep/modules', name);
const allBicep = ['main.bicep', ...readdirSync(join(workspaceRoot, 'infra/bicep/modules')).map((name) => `modules/${name}`)]
  .map((name) => readWorkspaceFile('infra/bicep', name))
  .join('\n');

const ROLES = {
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
};

describe('role assignments', () => {
  it('use only the four data-plane roles, never Owner, Contributor or a key-listing role', () => {
    const roleIds = new Set([...allBicep.matchAll(/'([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'/g)].map((match) => match[1]));
    expect([...roleIds].sort()).toEqual(Object.values(ROLES).sort());
  });

  it('give the backup identity read access per source container, not per account', () => {
    const source = module('source.bicep');
    const assignment = bicepBlockAfter(source, "resource containerReaders 'Microsoft.Authorization/roleAssignments");
    expect(assignment).toContain('scope: containers[i]');
    expect(assignment).toContain('principalId: readerPrincipalId');
    expect(source).toContain(`var storageBlobDataReaderRoleId = '${ROLES.storageBlobDataReader}'`);
  });

  it('let the Event Grid topic write dead letters to their container only', () => {
    const roles = module('host-roles.bicep');
    const assignment = bicepBlockAfter(roles, "resource deadLetterWriter 'Microsoft.Authorization/roleAssignments");
    expect(assignment).toContain('scope: deadLetterContainer');
    expect(assignment).toContain('principalId: systemTopicPrincipalId');
    expect(assignment).toContain('storageBlobDataContributorRoleId');
  });
});

describe('event delivery', () => {
  const subscription = bicepBlockAfter(module('event-subscription.bicep'), "resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions");

  it('goes to the function resource, one event at a time, in the Event Grid schema', () => {
    expect(subscription).toContain("endpointType: 'AzureFunction'");
    expect(subscription).toContain('resourceId: functionResourceId');
    expect(subscription).toContain('maxEventsPerBatch: 1');
    expect(subscription).toContain("eventDeliverySchema: 'EventGridSchema'");
  });

  it('filters on a subject prefix per allowed container', () => {
    expect(subscription).toContain("operatorType: 'StringBeginsWith'");
    expect(subscription).toContain("key: 'subject'");
    expect(module('event-subscription.bicep')).toContain(
      "var subjectPrefixes = [for container in containerNames: '/blobServices/default/containers/${container}/blobs/']",
    );
  });

  it('retries, then dead-letters with the topic identity (no storage key or SAS)', () => {
    expect(subscription).toContain('maxDeliveryAttempts: maxDeliveryAttempts');
    expect(subscription).toContain('deadLetterWithResourceIdentity');
    expect(subscription).toContain("identity: { type: 'SystemAssigned' }");
    expect(module('source.bicep')).toMatch(/resource systemTopic [^\n]+\n(?:.*\n)*? {2}identity: \{ type: 'SystemAssigned' \}/);
  });

  it('is created only in phase 2, after the hook or a second deployment sets subscribeFunction', () => {
    const main = readWorkspaceFile('infra/bicep/main.bicep');
    expect(main).toContain("module eventSubscription 'modules/event-subscription.bicep' = if (subscribeFunction) {");
    expect(main).toContain("includeBlobDeleted: deletePolicy == 'delete-marker'");
  });
});

describe('alerts', () => {
  const alerts = module('alerts.bicep');

  it('fire on failed invocations, exceptions and dead-lettered events', () => {
    expect(alerts).toContain("metricName: 'requests/failed'");
    expect(alerts).toContain("metricName: 'exceptions/count'");
    expect(alerts).toContain("metricName: 'DeadLetteredCount'");
  });
});
