// A new source storage account with the containers to back up (when the deployment creates one).

@description('Azure region')
param location string

@description('Storage account name')
@minLength(3)
@maxLength(24)
param name string

@description('Containers to create')
@minLength(1)
param containerNames array

@description('Tags applied to every resource')
param tags object

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_35: writers upload from wherever the user's applications run and the Flex Consumption app has no VNet here; access is Entra-only (shared keys off, no anonymous access). Add a firewall or private endpoint where the network allows it.
  // checkov:skip=CKV_AZURE_59: same reason: the public endpoint stays reachable, but only Entra-authenticated callers with a data role get in.
  // checkov:skip=CKV_AZURE_206: the S3 backup is this account's off-site copy; choose GZRS here if the source itself must survive a region loss.
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

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for container in containerNames: {
    parent: blobService
    name: container
    properties: { publicAccess: 'None' }
  }
]
