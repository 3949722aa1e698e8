// Alerts: failed Function invocations, exceptions, dead-lettered events and messages landing in the
// poison queue. An action group is created when an e-mail address is given; without one the alerts
// still fire and show in Azure Monitor.

@description('Name prefix shared by the resources of this deployment')
param namePrefix string

@description('Tags applied to every resource')
param tags object

@description('Application Insights resource id (invocations are recorded as requests)')
param appInsightsId string

@description('Event Grid system topic resource id')
param systemTopicId string

@description('Azure region of the Log Analytics workspace (log alerts live next to it)')
param location string

@description('Log Analytics workspace resource id (holds Application Insights\' tables and the queue logs)')
param workspaceId string

@description('Storage account holding the backup and poison queues')
param queueStorageAccountName string

@description('Queue the Functions runtime moves a message to after maxDequeueCount failed attempts')
param poisonQueueName string

@description('E-mail address alerts are sent to; empty sends none')
param alertEmail string

var notify = !empty(alertEmail)

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (notify) {
  name: '${namePrefix}-ag'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'blobferry'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actions = notify ? [{ actionGroupId: actionGroup.id }] : []

resource queueAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: queueStorageAccountName
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: queueAccount
  name: 'default'
}

// Queue write operations (PutMessage, UpdateMessage) into StorageQueueLogs: the one record per message
// that reaches the poison queue, whoever put it there. Storage's queue metrics (QueueMessageCount)
// are per account, not per queue, so no metric alert can tell the poison queue from the backup queue.
resource queueWriteLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'blobferry-queue-writes'
  scope: queueService
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'StorageWrite'
        enabled: true
      }
    ]
  }
}

// Two independent signals, either one fires: the storage log of the PutMessage into the poison queue,
// and the runtime's own warning "Message has reached MaxDequeueCount of <n>. Moving message to queue
// '<queue>-poison'." in Application Insights (workspace-based, so AppTraces in the same workspace).
// The trace alone could be dropped by Application Insights sampling (host.json samples traces).
var poisonQueueQuery = join([
  'union isfuzzy=true'
  '  (StorageQueueLogs'
  '    | where AccountName =~ \'${queueStorageAccountName}\' and OperationName == \'PutMessage\''
  '    | where Uri contains \'/${poisonQueueName}/messages\''
  '    | project TimeGenerated, Signal = \'PutMessage into ${poisonQueueName}\'),'
  '  (AppTraces'
  '    | where Message contains "Moving message to queue \'${poisonQueueName}\'"'
  '    | project TimeGenerated, Signal = \'runtime moved a message to ${poisonQueueName}\')'
], '\n')

resource poisonMessages 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: '${namePrefix}-poison-messages'
  location: location
  tags: tags
  properties: {
    displayName: '${namePrefix}-poison-messages'
    description: 'A blob event failed every attempt and was moved to the ${poisonQueueName} queue: that blob is not backed up. Fix the cause, then move the message back to the backup queue or run blobferry verify --repair.'
    severity: 1
    enabled: true
    scopes: [workspaceId]
    evaluationFrequency: 'PT5M'
    // Longer than the evaluation period: storage and telemetry logs arrive minutes late.
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: poisonQueueQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    // Stateful: one notification per incident, resolved once no new poison message arrives.
    autoMitigate: true
    // StorageQueueLogs and AppTraces exist in a new workspace only after their first record.
    skipQueryValidation: true
    actions: {
      actionGroups: notify ? [actionGroup.id] : []
    }
  }
  dependsOn: [queueWriteLogs]
}

// The sweep's report records blobferry.sweep.missed_events: block blobs it repaired that were last written
// before the run's start minus SWEEP_EVENT_LAG, which a BlobCreated should have brought. Appends, page
// writes and property changes raise no event and are not counted. Above zero, events are being lost
// (a subscription filter, a dropped or dead-lettered event, an outage longer than Event Grid's 24 h).
var missedEventsQuery = join([
  'AppMetrics'
  '| where Name == \'blobferry.sweep.missed_events\''
  '| summarize MissedEvents = sum(Sum) by bin(TimeGenerated, 5m)'
  '| where MissedEvents > 0'
], '\n')

resource missedEvents 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = {
  name: '${namePrefix}-missed-events'
  location: location
  tags: tags
  properties: {
    displayName: '${namePrefix}-missed-events'
    description: 'The scheduled sweep backed up blobs that an event should have announced: events are being lost. The sweep has repaired them; find out why the events did not arrive (subscription filter, dead letters, an outage).'
    severity: 2
    enabled: true
    scopes: [workspaceId]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    criteria: {
      allOf: [
        {
          query: missedEventsQuery
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    // AppMetrics exists in a new workspace only after the first metric.
    skipQueryValidation: true
    actions: {
      actionGroups: notify ? [actionGroup.id] : []
    }
  }
}

resource functionFailures 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-function-failures'
  location: 'global'
  tags: tags
  properties: {
    description: 'The backup Function failed invocations (the queue trigger retries a message up to maxDequeueCount times, then moves it to the poison queue).'
    severity: 2
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'FailedInvocations'
          metricNamespace: 'microsoft.insights/components'
          metricName: 'requests/failed'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Count'
        }
      ]
    }
    actions: actions
  }
}

resource functionExceptions 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-function-exceptions'
  location: 'global'
  tags: tags
  properties: {
    description: 'The backup Function logged exceptions.'
    severity: 3
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'Exceptions'
          metricNamespace: 'microsoft.insights/components'
          metricName: 'exceptions/count'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Count'
        }
      ]
    }
    actions: actions
  }
}

resource deadLettered 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dead-lettered'
  location: 'global'
  tags: tags
  properties: {
    description: 'Event Grid gave up on blob events and dead-lettered them: those blobs are not backed up until repaired (blobferry verify --repair).'
    severity: 1
    enabled: true
    scopes: [systemTopicId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadLettered'
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          metricName: 'DeadLetteredCount'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Total'
        }
      ]
    }
    actions: actions
  }
}
