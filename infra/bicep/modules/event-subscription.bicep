// Delivers the source account's blob events into the backup queue, where the Function's queue
// trigger picks them up. A queue, not a push to the function: Event Grid waits 30 s for a pushed
// event to be answered and then redelivers it, while a queued message stays until the Function
// deletes it, however long the copy takes. Event Grid writes with the system topic's own identity
// (no key, no SAS), and needs no deployed code to accept the subscription.

@description('Name of the Event Grid system topic on the source account')
param systemTopicName string

@description('Event subscription name')
param name string

@description('Resource id of the storage account holding the backup queue')
param queueStorageAccountId string

@description('Queue the events are written to, one event per message')
param queueName string

@description('Containers whose blob events are delivered. Event Grid allows 25 advanced-filter values per subscription; the data.api filter takes up to 8 of them.')
@minLength(1)
@maxLength(17)
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

// BlobTierChanged records the tier and moves the storage class; renames (hierarchical namespace) copy the new
// names, and their old names follow DELETE_POLICY; DirectoryDeleted (one event for a whole directory) is a
// delete, delivered only with delete-marker, as BlobDeleted is.
var alwaysEventTypes = ['Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobTierChanged', 'Microsoft.Storage.BlobRenamed', 'Microsoft.Storage.DirectoryRenamed']
var deleteEventTypes = ['Microsoft.Storage.BlobDeleted', 'Microsoft.Storage.DirectoryDeleted']
var eventTypes = includeBlobDeleted ? concat(alwaysEventTypes, deleteEventTypes) : alwaysEventTypes
var subjectPrefixes = [for container in containerNames: '/blobServices/default/containers/${container}/blobs/']
// Operations that announce a blob whose content is still being written (docs: "Azure Blob Storage as an
// Event Grid source"): CreateFile and SftpCreate report an empty blob; the FlushWithClose / SftpCommit that
// follows is the event to copy. Every other operation of the delivered event types passes: PutBlob,
// PutBlockList, CopyBlob, FlushWithClose, SftpCommit (BlobCreated), SetBlobTier (BlobTierChanged),
// RenameFile and RenameDirectory (renames), DeleteBlob, DeleteFile, SftpRemove and DeleteDirectory (deletes).
// Excluding two values, rather than listing the ones let through, keeps the filter within Event Grid's 25
// advanced-filter values whatever the event types delivered.
var incompleteBlobApis = ['CreateFile', 'SftpCreate']

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
          // -1: the message never expires; it stays until the Function has copied the blob (or the
          // runtime moved it to the poison queue).
          queueMessageTimeToLiveInSeconds: -1
        }
      }
    }
    filter: {
      includedEventTypes: eventTypes
      advancedFilters: [
        {
          // subjectBeginsWith takes a single value; an advanced filter takes one prefix per container.
          operatorType: 'StringBeginsWith'
          key: 'subject'
          values: subjectPrefixes
        }
        {
          operatorType: 'StringNotIn'
          key: 'data.api'
          values: incompleteBlobApis
        }
      ]
    }
    // Retries cover the queue being unreachable or the topic's role not yet effective.
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
