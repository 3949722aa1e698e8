// Role assignments on the Function's own resources (host storage, dead-letter container, App
// Insights). A module so that the principal ids, known only while deploying, can name them.

@description('Host storage account name')
param hostStorageAccountName string

@description('Dead-letter container on the host storage account')
param deadLetterContainerName string

@description('Application Insights resource name')
param appInsightsName string

@description('Principal id of the Function\'s identity')
param functionPrincipalId string

@description('Principal id of the Event Grid system topic\'s identity')
param systemTopicPrincipalId string

// Storage Blob Data Owner: the documented role for identity-based AzureWebJobsStorage (the host
// creates its containers and writes, leases and deletes blobs in them). Owner adds only POSIX-ACL
// rights over Contributor, which a non-HNS account does not use; the account is dedicated to the
// host, the deployment package and dead letters.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Blob Data Contributor: Event Grid writes dead-lettered events as blobs.
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
// Monitoring Metrics Publisher: Entra-authenticated telemetry ingestion into Application Insights.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: hostStorage
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: hostBlobService
  name: deadLetterContainerName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource hostStorageOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, functionPrincipalId, storageBlobDataOwnerRoleId)
  scope: hostStorage
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwnerRoleId)
    description: 'Functions host storage and deployment package (identity-based AzureWebJobsStorage)'
  }
}

resource deadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopicPrincipalId, storageBlobDataContributorRoleId)
  scope: deadLetterContainer
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
    description: 'Event Grid system topic writes undeliverable blob events'
  }
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionPrincipalId, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    description: 'Entra-authenticated telemetry from the Function'
  }
}
