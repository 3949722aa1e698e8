// What `blobferry restore` needs on the containers it writes into, for one operator: write blobs (Storage Blob
// Data Contributor) and write index tags, which Contributor cannot (blobs/tags/write): a custom role with that
// one data action rather than Storage Blob Data Owner, which also reads tags of and manages ACLs on every blob.
// Reading the backup is the AWS restore role's (infra/aws-iam), never this identity's S3 access.

@description('Storage account holding the containers a restore writes into')
param accountName string

@description('Existing containers a restore may write into')
@minLength(1)
param containerNames array

@description('Principal (object) id of the restoring operator')
param principalId string

@description('Kind of principal principalId is')
@allowed(['User', 'Group', 'ServicePrincipal'])
param principalType string

// Storage Blob Data Contributor: write, read and delete blobs (and create blocks for Put Block From URL).
var storageBlobDataContributorRoleId = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

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

resource tagsWriter 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(resourceGroup().id, 'blobferry-blob-tags-writer')
  properties: {
    roleName: 'blobferry blob index tags writer (${uniqueString(resourceGroup().id)})'
    description: 'Write blob index tags (Set Blob Tags, x-ms-tags on upload): a restore brings the backed-up tags back'
    type: 'CustomRole'
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: ['Microsoft.Storage/storageAccounts/blobServices/containers/blobs/tags/write']
        notDataActions: []
      }
    ]
    assignableScopes: [resourceGroup().id]
  }
}

resource blobWriters 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in containerNames: {
    name: guid(containers[i].id, principalId, storageBlobDataContributorRoleId)
    scope: containers[i]
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributorRoleId)
      description: 'blobferry restore writes blobs here'
    }
  }
]

resource tagWriters 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (container, i) in containerNames: {
    name: guid(containers[i].id, principalId, tagsWriter.id)
    scope: containers[i]
    properties: {
      principalId: principalId
      principalType: principalType
      roleDefinitionId: tagsWriter.id
      description: 'blobferry restore writes index tags here'
    }
  }
]
