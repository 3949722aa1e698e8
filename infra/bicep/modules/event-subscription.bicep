// Delivers the source account's blob events to the backup Function's Event Grid trigger. Deployed
// once the function exists: Event Grid checks the destination function when the subscription is
// created (see infra/README.md, "two-phase deploy").

@description('Name of the Event Grid system topic on the source account')
param systemTopicName string

@description('Event subscription name')
param name string

@description('Resource id of the Event Grid-triggered function: <function app id>/functions/<function name>')
param functionResourceId string

@description('Containers whose blob events are delivered (Event Grid allows 25 filter values)')
@minLength(1)
@maxLength(25)
param containerNames array

@description('Also deliver Microsoft.Storage.BlobDeleted (the Function applies DELETE_POLICY)')
param includeBlobDeleted bool

@description('Resource id of the storage account holding the dead-letter container')
param deadLetterStorageAccountId string

@description('Container undeliverable events are written to')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int

@description('Minutes an event is retried before it is dead-lettered')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int

var eventTypes = includeBlobDeleted ? ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted'] : ['Microsoft.Storage.BlobCreated']
var subjectPrefixes = [for container in containerNames: '/blobServices/default/containers/${container}/blobs/']

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: name
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: functionResourceId
        // One event per invocation: a failure retries (and finally dead-letters) only that blob.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: eventTypes
      // subjectBeginsWith takes a single value; an advanced filter takes one prefix per container.
      advancedFilters: [
        {
          operatorType: 'StringBeginsWith'
          key: 'subject'
          values: subjectPrefixes
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output name string = subscription.name
