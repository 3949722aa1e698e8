// Role assignments on the Function's own resources (host storage, dead-letter container, backup
// and poison queues, App Insights). A module so that the principal ids, known only while deploying,
// can name them. Queue roles are scoped to one queue each, never to the account.

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

@description('Queue Event Grid writes to and the Function\'s queue trigger reads')
param backupQueueName string

@description('Queue the Functions runtime moves a message to after maxDequeueCount failed attempts')
param poisonQueueName string

@description('Queue of the sweep\'s slices, which the sweep sends to and its queue trigger reads')
param sweepQueueName string

@description('Queue BlobInventoryPolicyCompleted is delivered to, read by the inventory sweep\'s trigger; empty: inventories are off')
param inventoryQueueName string

@description('Principal id of the operator who runs `blobferry backfill`; empty: none')
param operatorPrincipalId string

@description('Kind of principal operatorPrincipalId is')
@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string

@description('CustomRole: a role with only Update Message; StorageQueueDataContributor: the built-in role (see main.bicep)')
@allowed(['CustomRole', 'StorageQueueDataContributor'])
param queueMessageUpdateRole string

// Storage Blob Data Owner: the documented role for identity-based AzureWebJobsStorage (the host
// creates its containers and writes, leases and deletes blobs in them). Owner adds only POSIX-ACL
// rights over Contributor, which a non-HNS account does not use; the account is dedicated to the
// host, the deployment package, dead letters (which the sweep and `blobferry replay` read and delete once
// replayed) and the Function's own state container (failures, dependency health, the sweep's leases,
// checkpoints and reports): so those need no assignment of their own.
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
// Storage Blob Data Contributor: Event Grid writes dead-lettered events as blobs.
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
// Monitoring Metrics Publisher: Entra-authenticated telemetry ingestion into Application Insights.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

// The queue trigger with an identity-based connection (docs: "Azure Queue storage trigger", roles for
// the trigger: Storage Queue Data Reader and Storage Queue Data Message Processor). The data actions
// each operation of the runtime needs ("Permissions for calling data operations", REST reference):
// Storage Queue Data Reader: queues/read (Get Queue Metadata: the queue length target-based scaling
// reads, and the listener's existence check) and messages/read.
var storageQueueDataReaderRoleId = '19e7f393-937e-4f77-808e-94535e297925'
// Storage Queue Data Message Processor: messages/process/action (Get Messages, Delete Message).
var storageQueueDataMessageProcessorRoleId = '8a0f0c08-91a1-4084-bc3d-661d67233fed'
// Storage Queue Data Message Sender: messages/add/action (Put Message). Event Grid writing events,
// the runtime moving a message to the poison queue, an operator's backfill.
var storageQueueDataMessageSenderRoleId = 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
// Update Message needs messages/write, which neither Reader nor Message Processor holds, and the
// runtime calls it on every message that runs longer than about half the 10-minute invisibility it
// receives with (renewal), and on every failed attempt (release for the host.json visibilityTimeout).
// Without it a long copy fails its renewal and a failure waits out the full 10 minutes (reported in
// MicrosoftDocs/azure-docs#120932). Only Storage Queue Data Contributor has it among the built-in
// queue roles, so by default a custom role grants exactly that data action.
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var customUpdateRole = queueMessageUpdateRole == 'CustomRole'

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

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' existing = {
  parent: hostStorage
  name: 'default'
}

resource backupQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: backupQueueName
}

resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: poisonQueueName
}

resource sweepQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: sweepQueueName
}

resource sweepPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = {
  parent: queueService
  name: '${sweepQueueName}-poison'
}

resource queueMessageUpdater 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (customUpdateRole) {
  name: guid(resourceGroup().id, 'blobferry-queue-message-updater')
  properties: {
    roleName: 'blobferry queue message updater (${uniqueString(resourceGroup().id)})'
    description: 'Update Message on a storage queue: the Functions queue trigger renews a running message\'s invisibility and releases a failed one'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: ['Microsoft.Storage/storageAccounts/queueServices/queues/messages/write']
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

var queueMessageUpdateRoleId = customUpdateRole ? queueMessageUpdater.name : storageQueueDataContributorRoleId
var queueMessageUpdateRoleDefinitionId = subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueMessageUpdateRoleId)

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

resource backupQueueReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupQueue.id, functionPrincipalId, storageQueueDataReaderRoleId)
  scope: backupQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataReaderRoleId)
    description: 'Queue trigger: queue length (scaling) and existence'
  }
}

resource backupQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupQueue.id, functionPrincipalId, storageQueueDataMessageProcessorRoleId)
  scope: backupQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageProcessorRoleId)
    description: 'Queue trigger: receive and delete blob events'
  }
}

resource backupQueueUpdater 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupQueue.id, functionPrincipalId, queueMessageUpdateRoleDefinitionId)
  scope: backupQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: queueMessageUpdateRoleDefinitionId
    description: 'Queue trigger: renew a running message and release a failed one (Update Message)'
  }
}

resource poisonQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(poisonQueue.id, functionPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: poisonQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'Queue trigger: move a message that failed maxDequeueCount times to the poison queue'
  }
}

// The Function sends to the backup queue itself: a copy that failed for a transient reason goes back with a
// visibility delay (RETRY_DELAYS), and the sweep sends what S3 lacks or holds stale.
resource backupQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupQueue.id, functionPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: backupQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'Retries with a delay, and the sweep\'s backfill messages'
  }
}

// The sweep replays what reached the poison queue once the fault is gone: it receives and deletes there.
resource poisonQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(poisonQueue.id, functionPrincipalId, storageQueueDataMessageProcessorRoleId)
  scope: poisonQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageProcessorRoleId)
    description: 'The sweep replays poisoned messages (receive and delete)'
  }
}

// The sweep queue: the sweep sends its slices, the sweepSlice trigger reads them as the backup queue's trigger does.
resource sweepQueueReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sweepQueue.id, functionPrincipalId, storageQueueDataReaderRoleId)
  scope: sweepQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataReaderRoleId)
    description: 'Sweep slice trigger: queue length (scaling) and existence'
  }
}

resource sweepQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sweepQueue.id, functionPrincipalId, storageQueueDataMessageProcessorRoleId)
  scope: sweepQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageProcessorRoleId)
    description: 'Sweep slice trigger: receive and delete slices'
  }
}

resource sweepQueueUpdater 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sweepQueue.id, functionPrincipalId, queueMessageUpdateRoleDefinitionId)
  scope: sweepQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: queueMessageUpdateRoleDefinitionId
    description: 'Sweep slice trigger: renew a running slice and release a failed one (Update Message)'
  }
}

resource sweepQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sweepQueue.id, functionPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: sweepQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'The sweep sends a run\'s first slices and each slice\'s next'
  }
}

resource sweepPoisonQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(sweepPoisonQueue.id, functionPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: sweepPoisonQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'Sweep slice trigger: move a slice that failed maxDequeueCount times to its poison queue'
  }
}

resource eventGridQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(backupQueue.id, systemTopicPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: backupQueue
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'Event Grid system topic writes blob events to the backup queue'
  }
}

resource operatorQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(backupQueue.id, operatorPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: backupQueue
  properties: {
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'Operator enqueues blobs to back up (blobferry backfill)'
  }
}

// Inventories on: the inventory sweep's trigger reads its queue as the sweep slice trigger reads its own, and
// the system topic writes BlobInventoryPolicyCompleted into it.
var inventoryOn = !empty(inventoryQueueName)

resource inventoryQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = if (inventoryOn) {
  parent: queueService
  name: inventoryQueueName
}

resource inventoryPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' existing = if (inventoryOn) {
  parent: queueService
  name: '${inventoryQueueName}-poison'
}

resource inventoryQueueReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inventoryOn) {
  name: guid(inventoryQueue.id, functionPrincipalId, storageQueueDataReaderRoleId)
  scope: inventoryQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataReaderRoleId)
    description: 'Inventory sweep trigger: queue length (scaling) and existence'
  }
}

resource inventoryQueueProcessor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inventoryOn) {
  name: guid(inventoryQueue.id, functionPrincipalId, storageQueueDataMessageProcessorRoleId)
  scope: inventoryQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageProcessorRoleId)
    description: 'Inventory sweep trigger: receive and delete BlobInventoryPolicyCompleted events'
  }
}

resource inventoryQueueUpdater 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inventoryOn) {
  name: guid(inventoryQueue.id, functionPrincipalId, queueMessageUpdateRoleDefinitionId)
  scope: inventoryQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: queueMessageUpdateRoleDefinitionId
    description: 'Inventory sweep trigger: renew a running message and release a failed one (Update Message)'
  }
}

resource inventoryPoisonQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inventoryOn) {
  name: guid(inventoryPoisonQueue.id, functionPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: inventoryPoisonQueue
  properties: {
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'Inventory sweep trigger: move a message that failed maxDequeueCount times to its poison queue'
  }
}

resource eventGridInventoryQueueSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (inventoryOn) {
  name: guid(inventoryQueue.id, systemTopicPrincipalId, storageQueueDataMessageSenderRoleId)
  scope: inventoryQueue
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageQueueDataMessageSenderRoleId)
    description: 'Event Grid writes BlobInventoryPolicyCompleted into the inventory queue'
  }
}
