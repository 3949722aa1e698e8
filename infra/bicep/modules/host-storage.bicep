// The Function's own storage account: AzureWebJobsStorage (host locks, keys), the Flex Consumption
// deployment package container, the Event Grid dead-letter container, and the backup queue Event
// Grid writes blob events to (with its poison queue). Keys are disabled: the host, the deployment,
// the queue trigger and Event Grid all reach it with managed identities.
//
// Why the queue lives here and not in an account of its own: this account already accepts identities
// only (shared keys off, TLS 1.2, no anonymous blob access), it belongs to this deployment alone, and
// access inside it is granted per container and per queue, not per account: the Function's Blob Data
// Owner role carries no queue data actions, and every queue role below is scoped to one queue.
// A second account would add a resource and its settings to keep equal, and isolate nothing more.

@description('Azure region')
param location string

@description('Storage account name (3-24 lowercase letters and digits)')
@minLength(3)
@maxLength(24)
param name string

@description('Tags applied to every resource')
param tags object

@description('Container the Flex Consumption plan deploys the app package from')
param deploymentContainerName string

@description('Container Event Grid writes undeliverable events to')
param deadLetterContainerName string

@description('Container the Function keeps its shared state in: recorded failures, dependency health, sweep checkpoints and reports (STATE_CONTAINER_URL)')
param stateContainerName string

@description('Queue of the sweep\'s slices (libs/contract SWEEP_QUEUE_NAME)')
param sweepQueueName string

@description('Queue BlobInventoryPolicyCompleted is delivered to (libs/contract INVENTORY_QUEUE_NAME); empty: inventories are off, no queue')
param inventoryQueueName string

@description('Queue Event Grid writes blob events to (the Function\'s BACKUP_QUEUE_NAME)')
@minLength(3)
@maxLength(56)
param backupQueueName string

@description('Queue the Functions runtime moves a message to after maxDequeueCount failed attempts')
@minLength(3)
@maxLength(63)
param poisonQueueName string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: the Flex Consumption host reaches its storage over the public endpoint unless the app is VNet-integrated (not done here); access is Entra-only (shared keys off).
  // checkov:skip=CKV_AZURE_59: same reason: public endpoint, but only managed identities with a data role get in.
  // checkov:skip=CKV_AZURE_206: holds only host state, the deployable package (rebuilt from the repo) and dead letters; ZRS survives a zone loss, and nothing here is the only copy of user data.
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_ZRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // The Flex Consumption host and Event Grid reach the account over the public endpoint unless
      // the app is VNet-integrated; AzureServices keeps trusted-service access for Event Grid.
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
    containerDeleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: { publicAccess: 'None' }
}

resource stateContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: stateContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource backupQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: backupQueueName
}

// Created up front: the runtime only creates a missing poison queue, so with the queue in place its
// identity needs to send to it (Message Sender), never the queue-creating Contributor role.
resource poisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: poisonQueueName
}

resource sweepQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: sweepQueueName
}

// The runtime's poison queue of the sweep's trigger, created up front for the same reason.
resource sweepPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${sweepQueueName}-poison'
}

// Inventories on: the queue the inventory sweep's trigger reads, and its runtime poison queue.
resource inventoryQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = if (!empty(inventoryQueueName)) {
  parent: queueService
  name: inventoryQueueName
}

resource inventoryPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = if (!empty(inventoryQueueName)) {
  parent: queueService
  name: '${inventoryQueueName}-poison'
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output deadLetterContainerName string = deadLetterContainer.name
output deadLetterContainerUrl string = '${account.properties.primaryEndpoints.blob}${deadLetterContainer.name}'
output stateContainerName string = stateContainer.name
output stateContainerUrl string = '${account.properties.primaryEndpoints.blob}${stateContainer.name}'
output sweepQueueName string = sweepQueue.name
output inventoryQueueName string = inventoryQueueName
output backupQueueName string = backupQueue.name
output poisonQueueName string = poisonQueue.name
// https://<account>.queue.core.windows.net, without the trailing slash primaryEndpoints.queue has.
output queueServiceUri string = 'https://${account.name}.queue.${environment().suffixes.storage}'
