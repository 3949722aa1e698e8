// Delivers the source account's BlobInventoryPolicyCompleted events into the inventory queue, where the
// Function's inventory sweep trigger starts a sweep from the reports that just completed. A subscription of
// its own: the backup subscription's queue carries one blob per message.

@description('Name of the Event Grid system topic on the source account')
param systemTopicName string

@description('Event subscription name')
param name string

@description('Resource id of the storage account holding the inventory queue')
param queueStorageAccountId string

@description('Queue the events are written to (libs/contract INVENTORY_QUEUE_NAME)')
param queueName string

@description('Resource id of the storage account holding the dead-letter container')
param deadLetterStorageAccountId string

@description('Container undeliverable events are written to')
param deadLetterContainerName string

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: systemTopicName
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: systemTopic
  name: name
  properties: {
    eventDeliverySchema: 'EventGridSchema'
    deliveryWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      destination: {
        endpointType: 'StorageQueue'
        properties: {
          resourceId: queueStorageAccountId
          queueName: queueName
          queueMessageTimeToLiveInSeconds: -1
        }
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobInventoryPolicyCompleted']
    }
    // Event Grid's defaults. An event still lost leaves its dead letter under this subscription's name, which no
    // replay reads: the sweep's timer then lists the account, since no report completed within INVENTORY_MAX_AGE.
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
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
