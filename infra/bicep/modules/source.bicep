// The source side, deployed into the source account's resource group: the storage account (new or
// existing), read access for the backup identity on exactly the backed-up containers, and the
// Event Grid system topic that publishes the account's blob events.

@description('Azure region for a new source account (an existing one keeps its own)')
param location string

@description('Source storage account name')
@minLength(3)
@maxLength(24)
param accountName string

@description('Create the account and its containers (true) or use an existing account whose containers already exist (false)')
param createAccount bool

@description('Containers whose blobs are backed up')
@minLength(1)
param containerNames array

@description('Principal (object) id of the backup identity')
param readerPrincipalId string

@description('Azure Blob Inventory on the account (policy `default`, which replaces existing rules): rule blobferry, daily, Parquet, into blobferry-inventory')
param enableInventory bool

@description('Name of the Event Grid system topic on the account (an account can have only one)')
param systemTopicName string

@description('Tags applied to every resource')
param tags object

// Storage Blob Data Reader: read blobs and their properties, nothing else.
var storageBlobDataReaderRoleId = '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'

// Reading a blob's index tags (Get Blob Tags, List Blobs with include=tags) needs blobs/tags/read, which
// Storage Blob Data Reader lacks; the built-in roles that have it (Storage Blob Data Owner) also write. So a
// custom role holds exactly that data action, assigned on the backed-up containers only.
resource tagsReader 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'blobferry-blob-tags-reader')
  properties: {
    roleName: 'blobferry blob index tags reader (${uniqueString(resourceGroup().id)})'
    description: 'Read blob index tags (Get Blob Tags): the backup copies them to S3 object tags'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/read']
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

module newAccount 'source-account.bicep' = if (createAccount) {
  name: 'source-account'
  params: {
    location: location
    name: accountName
    containerNames: containerNames
    tags: tags
  }
}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: accountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for container in containerNames: {
    parent: blobService
    name: container
  }
]

// One assignment per container: the identity cannot read any other container of the account.
resource containerReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in containerNames: {
    name: guid(containers[i].id, readerPrincipalId, storageBlobDataReaderRoleId)
    scope: containers[i]
    properties: {
      principalId: readerPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReaderRoleId)
      description: 'blobferry backup identity reads the blobs it backs up'
    }
    dependsOn: [newAccount]
  }
]

resource containerTagsReaders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in containerNames: {
    name: guid(containers[i].id, readerPrincipalId, tagsReader.id)
    scope: containers[i]
    properties: {
      principalId: readerPrincipalId
      principalType: 'ServicePrincipal'
      roleDefinitionId: tagsReader.id
      description: 'blobferry backup identity reads the index tags of the blobs it backs up'
    }
    dependsOn: [newAccount]
  }
]

// Inventory (libs/contract AZURE_INVENTORY_CONTAINER / AZURE_INVENTORY_RULE): the fields libs/inventory's join
// needs (AZURE_REQUIRED_FIELDS), current versions of the backed-up containers, daily, as Parquet.
var inventoryContainerName = 'blobferry-inventory'

resource inventoryContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = if (enableInventory) {
  parent: blobService
  name: inventoryContainerName
  properties: { publicAccess: 'None' }
  dependsOn: [newAccount]
}

resource inventoryPolicy 'Microsoft.Storage/storageAccounts/inventoryPolicies@2023-05-01' = if (enableInventory) {
  parent: account
  name: 'default'
  properties: {
    policy: {
      enabled: true
      type: 'Inventory'
      rules: [
        {
          enabled: true
          name: 'blobferry'
          destination: inventoryContainerName
          definition: {
            format: 'Parquet'
            schedule: 'Daily'
            objectType: 'Blob'
            schemaFields: ['Name', 'Content-Length', 'Last-Modified', 'Etag', 'Content-MD5', 'BlobType', 'AccessTier']
            filters: {
              blobTypes: ['blockBlob', 'appendBlob', 'pageBlob']
              prefixMatch: [for container in containerNames: '${container}/']
            }
          }
        }
      ]
    }
  }
  dependsOn: [inventoryContainer]
}

// The Function reads the reports (the sweep at scale); nothing else of that container.
resource inventoryReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (enableInventory) {
  name: guid(inventoryContainer.id, readerPrincipalId, storageBlobDataReaderRoleId)
  scope: inventoryContainer
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataReaderRoleId)
    description: 'blobferry backup identity reads the inventory reports'
  }
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: account.location
  tags: tags
  // Its own identity writes dead letters; no key or SAS for the dead-letter container exists.
  identity: { type: 'SystemAssigned' }
  properties: {
    source: account.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
  dependsOn: [newAccount]
}

output systemTopicName string = systemTopic.name
output systemTopicId string = systemTopic.id
output systemTopicPrincipalId string = systemTopic.identity.principalId
