import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { ContainerClient } from '@azure/storage-blob';
import { QueueClient } from '@azure/storage-queue';
import { AZURE_STORAGE_RETRY } from '@blobferry/retry-policy';
import type { DeadLetterSource, ReplayConfig } from './replay-config.js';

export interface ReplayClients {
  backupQueue: QueueClient;
  poisonQueue: QueueClient;
  deadLetters: ContainerClient | undefined;
}

/**
 * The queues and the dead-letter container, as the caller: connection strings, or one DefaultAzureCredential
 * (made only when a client signs in with it) for every client that has none.
 */
export function createReplayClients(config: ReplayConfig): ReplayClients {
  let credential: TokenCredential | undefined;
  const azureCredential = () => (credential ??= new DefaultAzureCredential());
  const options = { retryOptions: AZURE_STORAGE_RETRY };
  const { queues } = config;
  const [backupQueue, poisonQueue] =
    queues.kind === 'connection-string'
      ? [
          new QueueClient(queues.connectionString, queues.queueName, options),
          new QueueClient(queues.connectionString, queues.poisonQueueName, options),
        ]
      : [new QueueClient(queues.queueUrl, azureCredential(), options), new QueueClient(queues.poisonQueueUrl, azureCredential(), options)];
  return { backupQueue, poisonQueue, deadLetters: config.deadLetters && deadLetterContainer(config.deadLetters, azureCredential) };
}

/** The container by its URL: with the connection string's key when one is given (the container of that name), else signed in. */
function deadLetterContainer(source: DeadLetterSource, azureCredential: () => TokenCredential): ContainerClient {
  const options = { retryOptions: AZURE_STORAGE_RETRY };
  if (source.connectionString) {
    const containerName = new URL(source.containerUrl).pathname.split('/').filter(Boolean).at(-1) ?? '';
    return new ContainerClient(source.connectionString, containerName, options);
  }
  return new ContainerClient(source.containerUrl, azureCredential(), options);
}
