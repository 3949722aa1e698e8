import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { azuriteConnectionString } from './azurite.js';
import { AZURITE_ACCOUNT_NAME, DEAD_LETTER_CONTAINER, DEFAULT_PORTS } from './constants.js';
import { startControlServer } from './control/control-server.js';
import type { InjectedDeliveryFailure } from './events/delivery.js';
import type { LocalSubscriptionKind } from './events/local-subscriptions.js';
import type { FaultRule, FaultService, Traffic } from './fault-proxy.js';
import type { MintTokenOptions } from './identity/index.js';
import { startAwsSide } from './parts/aws-side.js';
import { createBackupResources } from './parts/backup-resources.js';
import type { OutageOptions, OutageState } from './outage.js';
import { startBlobFront } from './parts/blob-front.js';
import { startPublicEndpoints } from './parts/public-endpoints.js';
import { Closers } from './parts/closers.js';
import { startEmulators } from './parts/emulators.js';
import { buildStack, publishStack } from './parts/stack.js';
import type { Sts } from './sts/index.js';
import type { EventGridEvent, Stack } from './types.js';

export { writeStackFile } from './parts/stack.js';

export type Log = (entry: Record<string, unknown>) => void;

export interface EventOptions {
  /**
   * Where the backup subscription delivers. Default `'queue'`: the backup queue in Azurite's Queue
   * service (endpointType StorageQueue, as infra/bicep deploys it). Or a webhook (POST after the
   * SubscriptionValidation handshake; an answer slower than 30 s is a failed attempt), or an in-process
   * handler (throwing counts as a failed delivery). The inventory subscription always delivers into the
   * inventory queue.
   */
  target?: 'queue' | { webhookUrl: string } | { handler: (event: EventGridEvent) => Promise<void> };
  /**
   * The subscriptions' retry policy, as infra/bicep sets it: attempts before an event is dead-lettered
   * (default 30, Event Grid's) and minutes an event is retried for (default 1,440).
   */
  maxAttempts?: number;
  timeToLiveMinutes?: number;
  /**
   * Event Grid's clock, compressed for tests: its retry delays (10 s, 30 s, 1 min, 5 min, ...), the time to
   * live and the 5-minute wait before a dead letter is written are multiplied by it (default 1).
   */
  timeScale?: number;
  /** Deliveries in flight at once (default 8). */
  concurrency?: number;
}

export interface LocalCloudOptions {
  /**
   * S3 implementation: moto (default; installed into a venv under `.local-cloud/moto-venv` on first start),
   * s3rver (a fallback that cannot store every valid key, see S3RVER_LIMITS), or any S3 endpoint.
   */
  /** An external S3 is taken to behave like Amazon S3 unless `features` says otherwise. */
  s3?:
    | 's3rver'
    | 'moto'
    | { endpoint: string; accessKeyId: string; secretAccessKey: string; region?: string; features?: Stack['aws']['s3Features'] };
  /** `free` (default) picks free ports; `default` uses DEFAULT_PORTS. */
  ports?: 'free' | 'default';
  /** Keep Azurite's data (dead letters included) and s3rver's in this folder; in memory by default. */
  persistDir?: string;
  /** Where to write stack.json once every part answers; false (default) writes nothing. */
  stackFile?: string | false;
  /** Whose principal id the role's trust policy admits (default the user-assigned backup identity). */
  trust?: 'user-assigned' | 'system-assigned';
  /**
   * infra/aws-iam parameters of the role whose policies S3 enforces: `allowDeleteMarkers` is its
   * AllowDeleteMarkers (default false, as in the template), which DELETE_POLICY=delete-marker needs.
   */
  role?: { allowDeleteMarkers?: boolean };
  /**
   * `versioned: false` creates the backup bucket never versioned, as an operator's own bucket may be
   * (infra/aws-iam with CreateBucket=false); by default it is versioned as the template creates it.
   * `prefix` (e.g. `backups/`, default none) is the key prefix backups go under: the role's BucketPrefix,
   * which confines its writes and listings to it, and the stack's `aws.prefix`.
   */
  bucket?: { versioned?: boolean; prefix?: string };
  /** Lifetime of managed-identity tokens (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /**
   * Put a fault-injecting proxy in front of the blob endpoint, S3 and STS (the stack's endpoints point at it,
   * and take the well-known ports with `ports: 'default'`), and a control endpoint (`stack.control`) from which
   * `local-cloud outage` reaches it.
   */
  faultProxy?: boolean;
  /**
   * Event delivery by both subscriptions (blob events into the backup queue, BlobInventoryPolicyCompleted into
   * the inventory queue); off when omitted or false (an estate whose blobs predate the subscriptions). The
   * queues and the storage endpoint exist either way.
   */
  events?: false | EventOptions;
  /** Where the moto venv lives (default `<workspace root>/.local-cloud/moto-venv`). */
  motoVenvDir?: string;
  /** Structured logs (default: JSON lines on stderr). */
  log?: Log;
  abortSignal?: AbortSignal;
}

export interface EventDeliveryFailure extends InjectedDeliveryFailure {
  /** Whose attempts fail: the backup subscription's (default) or the inventory subscription's. */
  subscription?: LocalSubscriptionKind;
}

/** The fault proxy's levers: failing chosen requests, and outages of a whole public endpoint. */
export interface Faults {
  failNext(rule: FaultRule): void;
  traffic(service: FaultService): Traffic;
  /**
   * Takes the service's public endpoint down for `durationMs`, refusing connections (`refuse`: nothing listens
   * on its port) or answering 503 (`unavailable`), then brings it back on the same port. Resolves once the
   * outage is in force; a new outage of the same service replaces the running one.
   */
  outage(service: FaultService, outage: OutageOptions): Promise<OutageState>;
  /** Ends the service's outage now; resolves once the endpoint answers again. */
  endOutage(service: FaultService): Promise<void>;
  /** The outages in force. */
  outages(): OutageState[];
}

export interface LocalCloud {
  stack: Stack;
  /** Stops every child process and server; idempotent. */
  stop(): Promise<void>;
  sts: Pick<Sts, 'requestCount' | 'failNext' | 'issueSessionsOf'>;
  identity: { mintToken(o: MintTokenOptions): Promise<string>; rotateKeys(): void };
  /**
   * `idle()` resolves once every raised event reached its target (or was dead-lettered and written).
   * `delivered()` and `deadLettered()` hold the events of both subscriptions. `failNext` makes the next
   * delivery attempts of one subscription fail as if its destination answered `status`.
   */
  events: {
    idle(): Promise<void>;
    delivered(): EventGridEvent[];
    deadLettered(): EventGridEvent[];
    failNext(failure?: EventDeliveryFailure): void;
  };
  /** Present when started with `faultProxy: true`. */
  faults?: Faults;
  /** Process ids of the emulator children (each leads its own process group). */
  childPids: number[];
}

const stderrLog: Log = (entry) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'local-cloud', ...entry })}\n`);

/** Starts Azurite, an S3 endpoint, the identity plane, STS and (optionally) event delivery. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const log = options.log ?? stderrLog;
  const closers = new Closers(log);
  const checkAborted = () => {
    if (options.abortSignal?.aborted) throw new Error('local cloud start was aborted', { cause: options.abortSignal.reason });
  };

  try {
    checkAborted();
    const emulators = await startEmulators(options, closers, log);
    checkAborted();
    const aws = await startAwsSide(options, emulators, closers, log);
    const front = await startBlobFront(options, emulators.azuriteBlob, closers, log);
    const endpoints = await startPublicEndpoints(
      options,
      { blobOrigin: front.origin, s3Endpoint: aws.s3Endpoint, stsEndpoint: aws.sts.endpoint },
      closers,
      log,
    );
    const blobEndpoint = `${endpoints.blobOrigin}/${AZURITE_ACCOUNT_NAME}`;
    front.publishAs(blobEndpoint);
    const { faults } = endpoints;
    const control = faults
      ? await startControlServer({ faults, port: options.ports === 'default' ? DEFAULT_PORTS.control : 0, log })
      : undefined;
    if (control) closers.add(() => control.close());

    const queueEndpoint = `${emulators.azuriteQueue.origin}/${AZURITE_ACCOUNT_NAME}`;
    const connectionString = azuriteConnectionString({ blob: blobEndpoint, queue: queueEndpoint });
    const hostStorageConnectionString = azuriteConnectionString({
      blob: `${emulators.azuriteBlob.origin}/${AZURITE_ACCOUNT_NAME}`,
      queue: queueEndpoint,
    });
    const queues = QueueServiceClient.fromConnectionString(connectionString);
    const { s3, identity } = emulators;
    await createBackupResources({
      connectionString,
      hostStorageConnectionString,
      queues,
      s3,
      s3Endpoint: endpoints.s3Endpoint,
      region: aws.region,
      versioned: options.bucket?.versioned !== false,
    });
    checkAborted();

    const hostStorage = BlobServiceClient.fromConnectionString(hostStorageConnectionString);
    if (options.events) {
      front.deliverEvents({
        events: options.events,
        queues,
        deadLetterContainer: hostStorage.getContainerClient(DEAD_LETTER_CONTAINER),
      });
    }
    const stack = buildStack({
      azure: { blobEndpoint, queueEndpoint, connectionString, hostStorageConnectionString },
      aws: {
        region: aws.region,
        s3Endpoint: endpoints.s3Endpoint,
        bucketPrefix: aws.bucketPrefix,
        sts: { endpoint: endpoints.stsEndpoint, roleArn: aws.sts.roleArn },
        restoreRoleArn: aws.restoreRoleArn,
        s3,
      },
      identity,
      events: options.events,
      deadLetterContainerUrl: hostStorage.getContainerClient(DEAD_LETTER_CONTAINER).url,
      control,
    });
    if (options.stackFile) await publishStack(options.stackFile, stack, closers);

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= closers.closeAll();
      return stopping;
    };
    options.abortSignal?.addEventListener('abort', () => void stop(), { once: true });
    log({
      msg: 'local cloud ready',
      blobEndpoint,
      s3Endpoint: endpoints.s3Endpoint,
      s3: s3.kind,
      stsEndpoint: endpoints.stsEndpoint,
      ...(control ? { control: control.endpoint } : {}),
      issuer: identity.issuer,
    });

    const { sts } = aws;
    return {
      stack,
      stop,
      sts: {
        requestCount: () => sts.requestCount(),
        failNext: (code, times) => sts.failNext(code, times),
        issueSessionsOf: (seconds) => sts.issueSessionsOf(seconds),
      },
      identity: { mintToken: (o) => identity.mintToken(o), rotateKeys: () => identity.rotateKeys() },
      events: front.events,
      faults,
      childPids: [emulators.azuriteBlob.child.pid, emulators.azuriteQueue.child.pid, ...s3.children.map((child) => child.pid)],
    };
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}
