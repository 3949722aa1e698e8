// The Function's own storage account: AzureWebJobsStorage (host locks, keys), the Flex Consumption
// deployment package container, and the Event Grid dead-letter container. Keys are disabled: the
// host, the deployment and Event Grid all reach it with managed identities.

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

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output deploymentContainerUrl string = '${account.properties.primaryEndpoints.blob}${deploymentContainer.name}'
output deadLetterContainerName string = deadLetterContainer.name
