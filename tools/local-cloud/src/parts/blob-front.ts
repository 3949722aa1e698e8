import type { ContainerClient } from '@azure/storage-blob';
import type { QueueServiceClient } from '@azure/storage-queue';
import { azuriteConnectionString, type RunningAzurite } from '../azurite.js';
import { answerFromUrl } from '../blob-from-url/index.js';
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME, DEFAULT_PORTS } from '../constants.js';
import { storageAccountTopic } from '../events/blob-created-event.js';
import { createDeadLetterContainer } from '../events/dead-letter-container.js';
import { EventDelivery, type DeliveryTarget } from '../events/delivery.js';
import { LOCAL_SUBSCRIPTION_KINDS, LOCAL_SUBSCRIPTIONS, type LocalSubscriptionKind } from '../events/local-subscriptions.js';
import { answerGetBlobWithTier } from '../get-blob-tier.js';
import { DEAD_LETTER_DELAY_MS, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIME_TO_LIVE_MINUTES } from '../events/retry-schedule.js';
import { startStorageEventsProxy } from '../events/storage-events-proxy.js';
import { passesFilter } from '../events/subscription-filter.js';
import type { EventOptions, LocalCloud, LocalCloudOptions, Log } from '../local-cloud.js';
import type { Closers } from './closers.js';

// The blob endpoint every client sees leads to the storage-events proxy (Azure raises events as part of
// each operation), directly or through the fault proxy. Each raised event goes to every subscription whose
// filter it passes (events/local-subscriptions.ts), and to no other.

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
  /** The account holding each subscription's queue; the backup subscription's target unless `events.target` names another. */
  queues: QueueServiceClient;
  /** Where events that cannot be delivered are written (in the host storage). */
  deadLetterContainer: ContainerClient;
}

type Deliveries = Record<LocalSubscriptionKind, EventDelivery>;

export async function startBlobFront(
  options: LocalCloudOptions,
  azuriteBlob: RunningAzurite,
  closers: Closers,
  log: Log,
): Promise<BlobFront> {
  let deliveries: Deliveries | undefined;
  let publicBlobEndpoint = '';
  const upstream = new URL(azuriteBlob.origin);
  const upstreamConnectionString = azuriteConnectionString({ blob: `${azuriteBlob.origin}/${AZURITE_ACCOUNT_NAME}` });
  const fromUrl = answerFromUrl({ accountName: AZURITE_ACCOUNT_NAME, accountKey: AZURITE_ACCOUNT_KEY, upstream });
  const getBlobWithTier = answerGetBlobWithTier({ upstream, accountName: AZURITE_ACCOUNT_NAME, accountKey: AZURITE_ACCOUNT_KEY });
  const storage = await startStorageEventsProxy({
    upstream: azuriteBlob.origin,
    // With a fault proxy, the fault proxy takes the well-known port.
    port: options.ports === 'default' && !options.faultProxy ? DEFAULT_PORTS.blob : 0,
    accountName: AZURITE_ACCOUNT_NAME,
    upstreamConnectionString,
    publicBlobEndpoint: () => publicBlobEndpoint,
    raise: (event) => {
      if (!deliveries) return;
      for (const kind of LOCAL_SUBSCRIPTION_KINDS) {
        if (passesFilter(LOCAL_SUBSCRIPTIONS[kind].filter, event)) deliveries[kind].enqueue(event);
      }
    },
    log,
    answerInstead: (request) => fromUrl(request) ?? getBlobWithTier(request),
  });
  closers.add(() => storage.close());
  const every = (): EventDelivery[] => (deliveries ? Object.values(deliveries) : []);
  return {
    origin: storage.origin,
    publishAs: (blobEndpoint) => {
      publicBlobEndpoint = blobEndpoint;
    },
    events: {
      idle: async () => {
        await storage.idle();
        await Promise.all(every().map((delivery) => delivery.idle()));
      },
      delivered: () => every().flatMap((delivery) => delivery.delivered()),
      deadLettered: () => every().flatMap((delivery) => delivery.deadLettered()),
      failNext: ({ subscription = 'backup', ...failure } = {}) => {
        if (!deliveries) throw new Error('events are off: there is no delivery to fail (start the local cloud with `events`)');
        deliveries[subscription].failNext(failure);
      },
    },
    deliverEvents: (deliverOptions) => {
      const started = startEventDeliveries(deliverOptions, log);
      for (const kind of LOCAL_SUBSCRIPTION_KINDS) closers.add(() => started[kind].close());
      deliveries = started;
    },
  };
}

/** One delivery per subscription, each with the subscription's retry policy and its own dead-letter folder. */
function startEventDeliveries({ events, queues, deadLetterContainer }: DeliverEventsOptions, log: Log): Deliveries {
  const requested = events.target ?? 'queue';
  const timeScale = events.timeScale ?? 1;
  const start = (kind: LocalSubscriptionKind, target: DeliveryTarget) =>
    new EventDelivery({
      target,
      maxAttempts: events.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      timeToLiveMinutes: events.timeToLiveMinutes ?? DEFAULT_TIME_TO_LIVE_MINUTES,
      timeScale,
      concurrency: events.concurrency ?? 8,
      deadLetters: createDeadLetterContainer({
        container: deadLetterContainer,
        subscriptionName: LOCAL_SUBSCRIPTIONS[kind].name,
        delayMs: DEAD_LETTER_DELAY_MS * timeScale,
        log,
      }),
      topic: storageAccountTopic(AZURITE_ACCOUNT_NAME),
      log,
    });
  const queueOf = (kind: LocalSubscriptionKind) => ({ queue: queues.getQueueClient(LOCAL_SUBSCRIPTIONS[kind].queueName) });
  return {
    backup: start('backup', requested === 'queue' ? queueOf('backup') : requested),
    inventory: start('inventory', queueOf('inventory')),
  };
}
