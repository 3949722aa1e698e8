// blobferry, Azure side: the backup Function (Flex Consumption, Node 22) running as a managed
// identity, its keyless host storage with the backup queue, monitoring and alerts, and the source
// account's Event Grid system topic whose subscription writes blob events into the queue the
// Function's queue trigger reads. One deployment: nothing here waits for the code to be deployed.
// Outputs tenantId, principalId and tokenAudience feed the AWS template (infra/aws-iam).

targetScope = 'resourceGroup'

@description('Short environment name (azd sets it); prefixes resource names')
@minLength(2)
@maxLength(20)
param environmentName string

@description('Azure region for the Function and its resources')
param location string = resourceGroup().location

@description('Tags applied to every resource')
param tags object = {}

// ---- identity ----

@description('Run as a user-assigned identity (default: its principal id is known before the app exists, so the AWS trust can be set up first) or the app\'s system-assigned identity')
@allowed(['UserAssigned', 'SystemAssigned'])
param identityType string = 'UserAssigned'

// ---- source ----

@description('Storage account whose blobs are backed up')
@minLength(3)
@maxLength(24)
param sourceStorageAccountName string

@description('Create the source account and containers here (true) or use an existing account (false)')
param createSourceAccount bool = false

@description('Resource group of the source account (same subscription); empty: this one')
param sourceResourceGroupName string = ''

@description('Containers to back up, comma-separated without spaces (at most 17: Event Grid allows 25 advanced-filter values per subscription and the data.api filter takes 2)')
@minLength(1)
param sourceContainers string

@description('Name of the Event Grid system topic on the source account; an account has at most one, so pass its existing topic\'s name if it has one')
param systemTopicName string = '${sourceStorageAccountName}-events'

// ---- backup target (AWS) ----

@description('ARN of the role created by infra/aws-iam (its RoleArn output). Empty on the very first deployment, before the AWS stack exists; set it then (see infra/README.md).')
param awsRoleArn string = ''

@description('AWS region of the backup bucket')
@minLength(1)
param awsRegion string

@description('Backup bucket name')
@minLength(3)
@maxLength(63)
param backupBucket string

@description('Key prefix in the bucket (empty or ending with /), matching the AWS template\'s BucketPrefix')
param backupPrefix string = ''

@description('Audience of the Entra token exchanged at STS: an App ID URI (or app id) of an app registration in this tenant; the AWS template\'s Audience')
@minLength(1)
param tokenAudience string

@description('Object key layout under the prefix (empty: the Function\'s default, account/container/blob)')
@allowed(['', 'account/container/blob', 'container/blob', 'blob'])
param keyLayout string = ''

@description('Multipart part size, e.g. 8MiB (5MiB..5GiB; empty: the Function\'s default)')
param partSize string = ''

@description('Parallel part uploads per blob, 1..64 (empty: the Function\'s default)')
param concurrency string = ''

@description('What a deleted source blob does in S3: retain (nothing) or delete-marker (needs a versioned bucket; also subscribes to BlobDeleted)')
@allowed(['retain', 'delete-marker'])
param deletePolicy string = 'retain'

// ---- Function ----

@description('Function app name; default derived from the environment name')
param functionAppName string = '${environmentName}-func-${uniqueString(resourceGroup().id)}'

@description('Host storage account name (AzureWebJobsStorage, deployment package, dead letters, backup queue)')
@minLength(3)
@maxLength(24)
param hostStorageAccountName string = 'bfhost${uniqueString(resourceGroup().id)}'

@description('Queue Event Grid writes blob events to and the Function\'s queue trigger reads (BACKUP_QUEUE_NAME); the runtime moves failed messages to <name>-poison')
@minLength(3)
@maxLength(56)
param backupQueueName string = 'blob-events'

@description('Most instances the Flex Consumption app may scale out to')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance (MB)')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

// ---- events and operations ----

@description('Delivery attempts before an event is dead-lettered')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes Event Grid keeps retrying an event')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

@description('E-mail address for alerts (empty: alerts without notification)')
param alertEmail string = ''

@description('Days Log Analytics keeps logs')
@minValue(30)
@maxValue(730)
param logRetentionInDays int = 30

@description('Application Insights accepts Entra-authenticated telemetry only')
param disableAppInsightsLocalAuth bool = false

@description('When the sweep runs (NCRONTAB, six fields): it reconciles every allowed source and enqueues what S3 lacks or holds stale, the safety net under the events')
param sweepSchedule string = '0 0 */6 * * *'

@description('How late an event may normally arrive (e.g. 15m): a blob the sweep repairs that was written before the sweep started minus this, and that an event should have announced, raises the missed-events alert. Empty: the Function\'s default (15m).')
param sweepEventLag string = ''

@description('Delays between retries of a copy that failed for a transient reason, the last repeated for as long as the message lives (e.g. 30s,1m,2m,5m). Empty: the Function\'s default.')
param retryDelays string = ''

@description('S3 storage class per access tier, e.g. Cool=STANDARD_IA,Cold=GLACIER_IR,Archive=DEEP_ARCHIVE. Empty: STANDARD for every tier.')
param storageClassByTier string = ''

@description('Turn on Azure Blob Inventory on the source account for the sweep and `blobferry verify --inventory` at scale: a daily Parquet report of the backed-up containers into the container blobferry-inventory. An account has one inventory policy, named default: deploying this one REPLACES any inventory rules the account already has, hence off by default.')
param enableInventory bool = false

@description('With enableInventory: where S3 Inventory delivers the backup bucket\'s daily report, s3://<reports bucket>/<destination prefix>/<backup bucket>/<configuration id>/ (output InventoryLocation of infra/aws-iam with EnableInventory=true). The sweep then joins the two reports when the Azure one completes (BlobInventoryPolicyCompleted), and lists only accounts without a report newer than 48 h.')
param inventoryS3Location string = ''

@description('With enableInventory: the oldest report the sweep joins (e.g. 48h); an account without a newer one is listed instead. Empty: the Function\'s default (48h).')
param inventoryMaxAge string = ''

@description('With enableInventory: where reports are downloaded and DuckDB spills. Empty: the instance\'s temporary storage (0.8 GB on Flex Consumption, about 5 million blobs); mount an Azure Files share for more and name its path here.')
param inventoryWorkDirectory string = ''

// ---- operators ----

@description('Principal (object) id of an operator (user, group or service principal) who runs `blobferry backfill`, which writes messages into the backup queue; it gets Storage Queue Data Message Sender on that queue and nothing else. Empty: no operator access.')
param operatorPrincipalId string = ''

@description('Kind of principal operatorPrincipalId is')
@allowed(['User', 'Group', 'ServicePrincipal'])
param operatorPrincipalType string = 'User'

@description('Principal (object) id of whoever runs `blobferry restore` into the containers of restoreContainers: it gets Storage Blob Data Contributor (write blobs) and a custom role with blobs/tags/write (restore index tags) on each, nothing else. Empty: none.')
param restorePrincipalId string = ''

@description('Kind of principal restorePrincipalId is')
@allowed(['User', 'Group', 'ServicePrincipal'])
param restorePrincipalType string = 'User'

@description('Existing containers of the source account a restore may write into, comma-separated (e.g. restored,photos). Create a fresh restore container first; list a backed-up container only if restoring in place is to be allowed.')
param restoreContainers string = ''

@description('How the Function gets Update Message on the backup queue (the runtime renews a running message\'s invisibility and releases a failed one with it): CustomRole creates a role with only that data action (the deploying principal needs Microsoft.Authorization/roleDefinitions/write, e.g. Owner or User Access Administrator); StorageQueueDataContributor uses the built-in role instead, which on that one queue also allows clearing it, deleting it and setting its metadata.')
@allowed(['CustomRole', 'StorageQueueDataContributor'])
param queueMessageUpdateRole string = 'CustomRole'

var namePrefix = '${environmentName}-blobferry'
var sourceResourceGroup = empty(sourceResourceGroupName) ? resourceGroup().name : sourceResourceGroupName
var userAssigned = identityType == 'UserAssigned'
var containerNames = split(sourceContainers, ',')
var allowedSources = [for container in containerNames: '${sourceStorageAccountName}/${container}']
var deploymentContainerName = 'app-package'
var deadLetterContainerName = 'eventgrid-deadletter'
var stateContainerName = 'blobferry-state'
// libs/contract SWEEP_QUEUE_NAME: the sweep trigger's queue name is fixed in the app.
var sweepQueueName = 'blob-sweep'
// libs/contract INVENTORY_QUEUE_NAME: BlobInventoryPolicyCompleted arrives here and starts an inventory sweep.
var inventoryQueueName = 'blob-inventory'
// libs/contract: the rule's destination container and name, as modules/source.bicep deploys the policy.
var azureInventory = 'blobferry-inventory/blobferry'
var eventSubscriptionName = '${namePrefix}-backup'
// The runtime's name for it (apps/backup-function/src/config.ts poisonQueueOf): created here, alerted on.
var poisonQueueName = '${backupQueueName}-poison'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (userAssigned) {
  name: '${namePrefix}-id'
  location: location
  tags: tags
}

module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  params: {
    location: location
    name: hostStorageAccountName
    tags: tags
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    stateContainerName: stateContainerName
    sweepQueueName: sweepQueueName
    inventoryQueueName: enableInventory ? inventoryQueueName : ''
    backupQueueName: backupQueueName
    poisonQueueName: poisonQueueName
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    namePrefix: namePrefix
    tags: tags
    retentionInDays: logRetentionInDays
    disableLocalAuth: disableAppInsightsLocalAuth
  }
}

// The names are the Function's configuration contract (apps/backup-function/src/config.ts);
// infra/validation/test checks them against it. AZURE_CLIENT_ID is absent for a system-assigned
// identity; empty optional settings are left out so the Function applies its defaults.
var requiredBackupSettings = {
  AWS_ROLE_ARN: awsRoleArn
  AWS_REGION: awsRegion
  BACKUP_BUCKET: backupBucket
  BACKUP_PREFIX: backupPrefix
  TOKEN_AUDIENCE: tokenAudience
  ALLOWED_SOURCES: join(allowedSources, ',')
  DELETE_POLICY: deletePolicy
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  STATE_CONTAINER_URL: hostStorage.outputs.stateContainerUrl
  DEAD_LETTER_CONTAINER_URL: hostStorage.outputs.deadLetterContainerUrl
  EVENT_SUBSCRIPTION_NAME: eventSubscriptionName
  SWEEP_SCHEDULE: sweepSchedule
}
// The queue trigger's connection (QUEUE_CONNECTION and QUEUE_NAME_SETTING in config.ts), resolved
// by the Functions runtime, not by the app: identity-based, so the queue needs no key either.
var queueTriggerSettings = {
  BACKUP_QUEUE__queueServiceUri: hostStorage.outputs.queueServiceUri
  BACKUP_QUEUE__credential: 'managedidentity'
  BACKUP_QUEUE_NAME: hostStorage.outputs.backupQueueName
}
var queueClientIdSetting = userAssigned ? { BACKUP_QUEUE__clientId: identity.properties.clientId } : {}
var clientIdSetting = userAssigned ? { AZURE_CLIENT_ID: identity.properties.clientId } : {}
var keyLayoutSetting = empty(keyLayout) ? {} : { KEY_LAYOUT: keyLayout }
var partSizeSetting = empty(partSize) ? {} : { PART_SIZE: partSize }
var concurrencySetting = empty(concurrency) ? {} : { CONCURRENCY: concurrency }
var sweepEventLagSetting = empty(sweepEventLag) ? {} : { SWEEP_EVENT_LAG: sweepEventLag }
var retryDelaysSetting = empty(retryDelays) ? {} : { RETRY_DELAYS: retryDelays }
var storageClassSetting = empty(storageClassByTier) ? {} : { STORAGE_CLASS_BY_TIER: storageClassByTier }
// Without INVENTORY_S3 the Function refuses INVENTORY_AZURE at start-up, naming the setting: both or neither.
var inventorySettings = enableInventory ? { INVENTORY_AZURE: azureInventory, INVENTORY_S3: inventoryS3Location } : {}
var inventoryMaxAgeSetting = (enableInventory && (!empty(inventoryMaxAge))) ? { INVENTORY_MAX_AGE: inventoryMaxAge } : {}
var inventoryWorkDirectorySetting = (enableInventory && (!empty(inventoryWorkDirectory))) ? { INVENTORY_WORK_DIRECTORY: inventoryWorkDirectory } : {}
var backupAppSettings = union(requiredBackupSettings, queueTriggerSettings, queueClientIdSetting, clientIdSetting, keyLayoutSetting, partSizeSetting, concurrencySetting, sweepEventLagSetting, retryDelaysSetting, storageClassSetting, inventorySettings, inventoryMaxAgeSetting, inventoryWorkDirectorySetting)

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    location: location
    name: functionAppName
    planName: '${namePrefix}-plan'
    tags: tags
    identityType: identityType
    userAssignedIdentityId: userAssigned ? identity.id : ''
    userAssignedClientId: userAssigned ? identity.properties.clientId : ''
    hostStorageAccountName: hostStorage.outputs.name
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    backupAppSettings: backupAppSettings
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

var principalId = userAssigned ? identity.properties.principalId : functionApp.outputs.systemAssignedPrincipalId

module source 'modules/source.bicep' = {
  name: 'source'
  scope: resourceGroup(sourceResourceGroup)
  params: {
    location: location
    accountName: sourceStorageAccountName
    createAccount: createSourceAccount
    containerNames: containerNames
    readerPrincipalId: principalId
    enableInventory: enableInventory
    systemTopicName: systemTopicName
    tags: tags
  }
}

// Parenthesised: checkov's parser (pycep) reads `!a && !b` as `!(a && !b)`; Bicep would not, but both must agree.
module restoreRoles 'modules/restore-roles.bicep' = if ((!empty(restorePrincipalId)) && (!empty(restoreContainers))) {
  name: 'restore-roles'
  scope: resourceGroup(sourceResourceGroup)
  params: {
    accountName: sourceStorageAccountName
    containerNames: split(restoreContainers, ',')
    principalId: restorePrincipalId
    principalType: restorePrincipalType
  }
  dependsOn: [source]
}

module hostRoles 'modules/host-roles.bicep' = {
  name: 'host-roles'
  params: {
    hostStorageAccountName: hostStorage.outputs.name
    deadLetterContainerName: hostStorage.outputs.deadLetterContainerName
    backupQueueName: hostStorage.outputs.backupQueueName
    poisonQueueName: hostStorage.outputs.poisonQueueName
    sweepQueueName: hostStorage.outputs.sweepQueueName
    inventoryQueueName: hostStorage.outputs.inventoryQueueName
    appInsightsName: monitoring.outputs.appInsightsName
    functionPrincipalId: principalId
    systemTopicPrincipalId: source.outputs.systemTopicPrincipalId
    operatorPrincipalId: operatorPrincipalId
    operatorPrincipalType: operatorPrincipalType
    queueMessageUpdateRole: queueMessageUpdateRole
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: namePrefix
    tags: tags
    location: location
    appInsightsId: monitoring.outputs.appInsightsId
    systemTopicId: source.outputs.systemTopicId
    workspaceId: monitoring.outputs.workspaceId
    queueStorageAccountName: hostStorage.outputs.name
    poisonQueueName: hostStorage.outputs.poisonQueueName
    alertEmail: alertEmail
  }
}

module eventSubscription 'modules/event-subscription.bicep' = {
  name: 'event-subscription'
  scope: resourceGroup(sourceResourceGroup)
  params: {
    systemTopicName: source.outputs.systemTopicName
    name: eventSubscriptionName
    queueStorageAccountId: hostStorage.outputs.id
    queueName: hostStorage.outputs.backupQueueName
    containerNames: containerNames
    includeBlobDeleted: deletePolicy == 'delete-marker'
    deadLetterStorageAccountId: hostStorage.outputs.id
    deadLetterContainerName: hostStorage.outputs.deadLetterContainerName
    maxDeliveryAttempts: maxDeliveryAttempts
    eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
  }
  // The topic's roles (send to the queue, write dead letters) exist before the first event.
  dependsOn: [hostRoles]
}

@description('Entra tenant id: the AWS template\'s TenantId (issuer https://sts.windows.net/<tenantId>/)')
output tenantId string = tenant().tenantId

@description('Principal (object) id of the Function\'s identity: the AWS template\'s PrincipalId (token sub)')
output principalId string = principalId

@description('Client id of the user-assigned identity (AZURE_CLIENT_ID); empty for system-assigned')
output clientId string = userAssigned ? identity.properties.clientId : ''

@description('The AWS template\'s Audience')
output tokenAudience string = tokenAudience

@description('Function app name (az functionapp config appsettings set --name)')
output functionAppName string = functionApp.outputs.name

@description('Resource group of the Function')
output resourceGroupName string = resourceGroup().name

@description('ALLOWED_SOURCES as set on the Function')
output allowedSources string = join(allowedSources, ',')

@description('Queue service URI of the backup queue (blobferry backfill writes there)')
output queueServiceUri string = hostStorage.outputs.queueServiceUri

@description('Backup queue name (BACKUP_QUEUE_NAME)')
output backupQueueName string = hostStorage.outputs.backupQueueName

@description('Poison queue the runtime moves failed messages to')
output poisonQueueName string = hostStorage.outputs.poisonQueueName

// BlobInventoryPolicyCompleted into the inventory queue: a subscription of its own, since the backup
// subscription carries one blob per message.
module inventorySubscription 'modules/inventory-subscription.bicep' = if (enableInventory) {
  name: 'inventory-subscription'
  scope: resourceGroup(sourceResourceGroup)
  params: {
    systemTopicName: source.outputs.systemTopicName
    name: '${namePrefix}-inventory'
    queueStorageAccountId: hostStorage.outputs.id
    queueName: inventoryQueueName
    deadLetterStorageAccountId: hostStorage.outputs.id
    deadLetterContainerName: hostStorage.outputs.deadLetterContainerName
  }
  dependsOn: [hostRoles]
}
