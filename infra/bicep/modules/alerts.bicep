// Alerts: failed Function invocations and dead-lettered events. An action group is created when an
// e-mail address is given; without one the alerts still fire and show in Azure Monitor.

@description('Name prefix shared by the resources of this deployment')
param namePrefix string

@description('Tags applied to every resource')
param tags object

@description('Application Insights resource id (invocations are recorded as requests)')
param appInsightsId string

@description('Event Grid system topic resource id')
param systemTopicId string

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

resource functionFailures 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-function-failures'
  location: 'global'
  tags: tags
  properties: {
    description: 'The backup Function failed invocations (Event Grid retries them, then dead-letters).'
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
