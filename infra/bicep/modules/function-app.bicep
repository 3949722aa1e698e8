// The backup Function: Flex Consumption plan, Node 22, identity-based host storage and deployment
// storage, Application Insights over Entra auth. No connection string with a key appears anywhere.

@description('Azure region')
param location string

@description('Function app name (globally unique: it is the azurewebsites.net host name)')
param name string

@description('Flex Consumption plan name')
param planName string

@description('Tags applied to every resource; the app also gets azd-service-name')
param tags object

@description('Which managed identity the app runs as')
@allowed(['UserAssigned', 'SystemAssigned'])
param identityType string

@description('Resource id of the user-assigned identity (UserAssigned only)')
param userAssignedIdentityId string

@description('Client id of the user-assigned identity (UserAssigned only)')
param userAssignedClientId string

@description('Name of the host storage account (AzureWebJobsStorage)')
param hostStorageAccountName string

@description('URL of the blob container the plan deploys the app package from')
param deploymentContainerUrl string

@description('App settings the backup code reads (names fixed by apps/backup-function)')
param backupAppSettings object

@description('Most instances the app may scale out to')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance')
@allowed([512, 2048, 4096])
param instanceMemoryMB int

var userAssigned = identityType == 'UserAssigned'

// The host reaches AzureWebJobsStorage and Application Insights with the same identity as the code.
var identityHostSettings = {
  AzureWebJobsStorage__accountName: hostStorageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: userAssigned ? 'ClientId=${userAssignedClientId};Authorization=AAD' : 'Authorization=AAD'
}
var userAssignedHostSettings = userAssigned ? { AzureWebJobsStorage__clientId: userAssignedClientId } : {}
var appSettings = union(identityHostSettings, userAssignedHostSettings, backupAppSettings)

var appIdentity = userAssigned ? {
  type: 'UserAssigned'
  userAssignedIdentities: { '${userAssignedIdentityId}': {} }
} : { type: 'SystemAssigned' }

var deploymentAuthentication = userAssigned ? {
  type: 'UserAssignedIdentity'
  userAssignedIdentityResourceId: userAssignedIdentityId
} : { type: 'SystemAssignedIdentity' }

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  // checkov:skip=CKV_AZURE_225: zone redundancy is not offered for Flex Consumption in every region; a zonal outage delays processing while the events wait in the zone-redundant backup queue, and loses none.
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_16: the identity is set (UserAssigned or SystemAssigned) through the appIdentity variable, which checkov does not evaluate.
  // checkov:skip=CKV_AZURE_71: same: the managed identity comes from appIdentity.
  // checkov:skip=CKV_AZURE_222: the only inbound endpoint is GET /api/health behind a function key (the queue trigger pulls from storage, nothing pushes to the app); without VNet integration there is no private path for operators to reach it.
  // checkov:skip=CKV_AZURE_17: no client ever presents a certificate: the health endpoint authenticates callers with a function key.
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero on queue length; a message whose instance is lost becomes visible again and is picked up by another, so no standing instances are needed for failover.
  // checkov:skip=CKV_AZURE_213: there is no standing instance pool for an App Service health check to evict from; GET /api/health serves operators and blobferry verify.
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'backup-function' })
  kind: 'functionapp,linux'
  identity: appIdentity
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: string(setting.value)
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: deploymentAuthentication
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

output name string = app.name
output id string = app.id
output defaultHostName string = app.properties.defaultHostName
output systemAssignedPrincipalId string = userAssigned ? '' : app.identity.principalId
