// Log Analytics + workspace-based Application Insights for the backup Function.

@description('Azure region')
param location string

@description('Name prefix shared by the resources of this deployment')
param namePrefix string

@description('Tags applied to every resource')
param tags object

@description('Days Log Analytics keeps data')
@minValue(30)
@maxValue(730)
param retentionInDays int

@description('Refuse instrumentation-key-only ingestion (Entra auth only). The Functions host authenticates with the app identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING); keep false unless the app\'s own OpenTelemetry exporter also uses a token credential.')
param disableLocalAuth bool

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${namePrefix}-log'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${namePrefix}-appi'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: disableLocalAuth
  }
}

output workspaceId string = workspace.id
output appInsightsName string = appInsights.name
output appInsightsId string = appInsights.id
output connectionString string = appInsights.properties.ConnectionString
