import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { azuriteConnectionString, type RunningAzurite } from '../azurite.js';
import { answerFromUrl } from '../blob-from-url/index.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME, DEFAULT_PORTS, EVENT_SUBSCRIPTION_NAME } from '../constants.js';
import { storageAccountTopic } from '../events/blob-created-event.js';
import { createDeadLetterContainer } from '../events/dead-letter-container.js';
import { EventDelivery, type DeliveryTarget } from '../events/delivery.js';
import { DEAD_LETTER_DELAY_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIME_TO_LIVE_MINUTES } from '../events/retry-schedule.js';
import { startStorageEventsProxy } from '../events/storage-events-proxy.js';
import type { EventOptions, LocalCloud, LocalCloudOptions, Log } from '../local-cloud.js';
import type { Closers } from './closers.js';

// The blob endpoint every client sees leads to the storage-events proxy (Azure raises events as part of
// each operation), directly or through the fault proxy.

export interface BlobFront {
  /** The storage-events proxy's origin. */
  origin: string;
  /** Names the blob endpoint clients use (`<origin>/<account>`), which goes into the events' URLs. */
  publishAs(blobEndpoint: string): void;
  events: LocalCloud['events'];
  /** Delivers the events the blob endpoint raises from now on (none are delivered before). */
  deliverEvents(delivery: DeliverEventsOptions): void;
}

export interface DeliverEventsOptions {
  events: EventOptions;
  /** The backup queue, the target unless `events.target` names another. */
  queue: QueueClient;
  /** Where events that cannot be delivered are written (in the host storage). */
  deadLetterContainer: ContainerClient;
}

export async function startBlobFront(
  options: LocalCloudOptions,
  azuriteBlob: RunningAzurite,
  closers: Closers,
  log: Log,
): Promise<BlobFront> {
  let delivery: EventDelivery | undefined;
  let publicBlobEndpoint = '';
  const storage = await startStorageEventsProxy({
    upstream: azuriteBlob.origin,
    // With a fault proxy, the fault proxy takes the well-known port.
    port: options.ports === 'default' && !options.faultProxy ? DEFAULT_PORTS.blob : 0,
    accountName: AZURITE_ACCOUNT_NAME,
    upstreamConnectionString: azuriteConnectionString({ blob: `${azuriteBlob.origin}/${AZURITE_ACCOUNT_NAME}` }),
    publicBlobEndpoint: () => publicBlobEndpoint,
    raise: (event) => delivery?.enqueue(event),
    log,
    answerInstead: answerFromUrl({
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: AZURITE_ACCOUNT_KEY,
      upstream: new URL(azuriteBlob.origin),
    }),
  });
  closers.add(() => storage.close());
  return {
    origin: storage.origin,
    publishAs: (blobEndpoint) => {
      publicBlobEndpoint = blobEndpoint;
    },
    events: {
      idle: async () => {
        await storage.idle();
        await delivery?.idle();
      },
      delivered: () => delivery?.delivered() ?? [],
      deadLettered: () => delivery?.deadLettered() ?? [],
      failNext: (failure) => {
        if (!delivery) throw new Error('events are off: there is no delivery to fail (start the local cloud with `events`)');
        delivery.failNext(failure);
      },
    },
    deliverEvents: (deliverOptions) => {
      const started = startEventDelivery(deliverOptions, log);
      closers.add(() => started.close());
      delivery = started;
    },
  };
}

function startEventDelivery({ events, queue, deadLetterContainer }: DeliverEventsOptions, log: Log): EventDelivery {
  const requested = events.target ?? 'queue';
  const target: DeliveryTarget = requested === 'queue' ? { queue } : requested;
  const timeScale = events.timeScale ?? 1;
  return new EventDelivery({
    target,
    maxAttempts: events.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    timeToLiveMinutes: events.timeToLiveMinutes ?? DEFAULT_TIME_TO_LIVE_MINUTES,
    timeScale,
    concurrency: events.concurrency ?? 8,
    deadLetters: createDeadLetterContainer({
      container: deadLetterContainer,
      subscriptionName: EVENT_SUBSCRIPTION_NAME,
      delayMs: DEAD_LETTER_DELAY_MS * timeScale,
      log,
    }),
    topic: storageAccountTopic(AZURITE_ACCOUNT_NAME),
    log,
  });
}
