import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { QueueServiceClient } from '@azure/storage-queue';
import { azuriteConnectionString, ensureContainer, startAzurite, type RunningAzurite } from './azurite.js';
import {
  AWS_ACCOUNT_ID,
  AWS_REGION,
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  BACKUP_BUCKET,
  BACKUP_PREFIX,
  BACKUP_QUEUE_NAME,
  DEFAULT_PORTS,
  SOURCE_CONTAINER,
} from './constants.js';
import { storageAccountTopic } from './events/blob-created-event.js';
import { EventDelivery, type DeliveryTarget } from './events/delivery.js';
import { startStorageEventsProxy } from './events/storage-events-proxy.js';
import { FaultRules, startFaultProxy, type FaultRule, type FaultService, type Traffic } from './fault-proxy.js';
import { DEFAULT_AUDIENCE, startIdentityPlane, type IdentityPlane, type MintTokenOptions } from './identity/index.js';
import { ensureBucket } from './s3/ensure-bucket.js';
import { RoleSessions } from './iam/sessions.js';
import { startIamGateway } from './s3/iam-gateway.js';
import { startMoto } from './s3/moto.js';
import type { RunningS3 } from './s3/running-s3.js';
import { startS3rver } from './s3/s3rver.js';
import { shippedTrust, startSts, type Sts } from './sts/index.js';
import type { EventGridEvent, Stack } from './types.js';
import { DEFAULT_MOTO_VENV_DIR } from './workspace-paths.js';

export type Log = (entry: Record<string, unknown>) => void;

export interface EventOptions {
  /**
   * Where the Event Grid subscription delivers. Default `'queue'`: the backup queue in Azurite's Queue
   * service (endpointType StorageQueue, as infra/bicep deploys it). Or a webhook (POST after the
   * SubscriptionValidation handshake; an answer slower than 30 s is a failed attempt), or an in-process
   * handler (throwing counts as a failed delivery).
   */
  target?: 'queue' | { webhookUrl: string } | { handler: (event: EventGridEvent) => Promise<void> };
  /** Attempts before an event is dead-lettered (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt (default 500 ms) up to `maxBackoffMs` (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deliveries in flight at once (default 8). */
  concurrency?: number;
}

export interface LocalCloudOptions {
  /**
   * S3 implementation: moto (default; installed into a venv under `.local-cloud/moto-venv` on first start),
   * s3rver (a fallback that cannot store every valid key, see S3RVER_LIMITS), or any S3 endpoint.
   */
  /** An external S3 is taken to behave like Amazon S3 unless `features` says otherwise. */
  s3?: 's3rver' | 'moto' | { endpoint: string; accessKeyId: string; secretAccessKey: string; region?: string; features?: Stack['aws']['s3Features'] };
  /** `free` (default) picks free ports; `default` uses DEFAULT_PORTS. */
  ports?: 'free' | 'default';
  /** Keep Azurite's and s3rver's data (and dead letters) in this folder; in-memory/temp by default. */
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
  /** Put a fault-injecting proxy in front of Azurite and S3; the stack's endpoints point at it. */
  faultProxy?: boolean;
  /**
   * BlobCreated/BlobDeleted delivery; off when omitted or false (an estate whose blobs predate the
   * subscription). The queue and the storage endpoint exist either way.
   */
  events?: false | EventOptions;
  /** Where the moto venv lives (default `<workspace root>/.local-cloud/moto-venv`). */
  motoVenvDir?: string;
  /** Structured logs (default: JSON lines on stderr). */
  log?: Log;
  abortSignal?: AbortSignal;
}

export interface LocalCloud {
  stack: Stack;
  /** Stops every child process and server; idempotent. */
  stop(): Promise<void>;
  sts: Pick<Sts, 'requestCount' | 'failNext' | 'issueSessionsOf'>;
  identity: { mintToken(o: MintTokenOptions): Promise<string>; rotateKeys(): void };
  /** `idle()` resolves once every raised event reached its target (or was dead-lettered). */
  events: { idle(): Promise<void>; delivered(): EventGridEvent[]; deadLettered(): EventGridEvent[] };
  /** Present when started with `faultProxy: true`. */
  faults?: { failNext(rule: FaultRule): void; traffic(service: FaultService): Traffic };
  /** Process ids of the emulator children (each leads its own process group). */
  childPids: number[];
}


const stderrLog: Log = (entry) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'local-cloud', ...entry })}\n`);

/**
 * Writes a stack file (a Stack, or one that extends it) atomically and readable by its owner only: it holds
 * the emulators' keys. Readers never see a half-written file.
 */
export async function writeStackFile(path: string, stack: Stack): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, path);
}

/** Key shapes s3rver cannot store although S3 does; printed whenever s3rver is chosen. */
export const S3RVER_LIMITS =
  's3rver answers 404 for keys containing "//" (also a leading "/" after the prefix) and for "." or ".." segments, lists keys out of S3 byte order, and ignores checksums and conditional writes; use moto (the default) to back up every valid blob name';

async function startS3(options: LocalCloudOptions, log: Log): Promise<RunningS3> {
  const s3 = options.s3 ?? 'moto';
  // An emulator sits behind the IAM gateway, which takes the public port.
  const port = 0;
  if (s3 === 's3rver') {
    log({ level: 'warn', msg: 's3rver is a fallback S3 that loses some valid keys', limits: S3RVER_LIMITS });
    return startS3rver({ port, persistDir: options.persistDir && join(options.persistDir, 's3rver') });
  }
  if (s3 === 'moto') {
    if (options.persistDir) log({ level: 'warn', msg: 'moto keeps data in memory only; --persist applies to Azurite' });
    return startMoto({ port, venvDir: options.motoVenvDir ?? DEFAULT_MOTO_VENV_DIR, log });
  }
  return {
    kind: 'external',
    endpoint: s3.endpoint.replace(/\/+$/, ''),
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    region: s3.region,
    features: s3.features ?? { checksum: 'CRC32', conditionalWrites: true },
    children: [],
    stop: async () => undefined,
  };
}

/** Starts Azurite, an S3 endpoint, the identity plane, STS and (optionally) event delivery. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const log = options.log ?? stderrLog;
  const defaultPorts = options.ports === 'default';
  // Closers run in reverse start order, on failure as well as on stop().
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => log({ level: 'warn', msg: 'error while stopping', error: (error as Error).message }));
    }
  };
  const checkAborted = () => {
    if (options.abortSignal?.aborted) throw new Error('local cloud start was aborted', { cause: options.abortSignal.reason });
  };

  try {
    checkAborted();
    // allSettled, not all: a part that starts after another failed must still be registered for closing.
    const azuriteDir = options.persistDir && join(options.persistDir, 'azurite');
    const [azuriteStart, queueStart, s3Start, identityStart] = await Promise.allSettled([
      // With default ports the storage-events proxy takes the well-known blob port; Azurite sits behind it.
      startAzurite({ service: 'blob', port: 0, persistDir: azuriteDir }),
      startAzurite({ service: 'queue', port: defaultPorts ? DEFAULT_PORTS.queue : 0, persistDir: azuriteDir }),
      startS3(options, log),
      startIdentityPlane({
        host: '127.0.0.1',
        port: defaultPorts ? DEFAULT_PORTS.identity : 0,
        tokenLifetimeSeconds: options.tokenLifetimeSeconds,
        audience: DEFAULT_AUDIENCE,
      }),
    ]);
    if (azuriteStart.status === 'fulfilled') closers.push(() => azuriteStart.value.child.stop());
    if (queueStart.status === 'fulfilled') closers.push(() => queueStart.value.child.stop());
    if (s3Start.status === 'fulfilled') closers.push(() => s3Start.value.stop());
    if (identityStart.status === 'fulfilled') closers.push(() => identityStart.value.close());
    for (const started of [azuriteStart, queueStart, s3Start, identityStart]) if (started.status === 'rejected') throw started.reason;
    const azurite = (azuriteStart as PromiseFulfilledResult<RunningAzurite>).value;
    const azuriteQueue = (queueStart as PromiseFulfilledResult<RunningAzurite>).value;
    const s3 = (s3Start as PromiseFulfilledResult<RunningS3>).value;
    const identity = (identityStart as PromiseFulfilledResult<IdentityPlane>).value;
    checkAborted();

    const trustedPrincipal = options.trust === 'system-assigned' ? identity.systemIdentity : identity.backupIdentity;
    const sessions = s3.kind === 'external' ? undefined : new RoleSessions();
    const backupPrefix = options.bucket?.prefix ?? BACKUP_PREFIX;
    const region = s3.region ?? AWS_REGION;
    const sts = await startSts({
      host: '127.0.0.1',
      port: defaultPorts ? DEFAULT_PORTS.sts : 0,
      ...shippedTrust({
        tenantId: identity.tenantId,
        issuer: identity.issuer,
        audience: identity.audience,
        principalId: trustedPrincipal.principalId,
        bucket: BACKUP_BUCKET,
        bucketPrefix: backupPrefix,
        allowDeleteMarkers: options.role?.allowDeleteMarkers ?? false,
      }),
      credentials: sessions ?? s3.credentials,
      accountId: AWS_ACCOUNT_ID,
      log,
    });
    closers.push(() => sts.close());

    // S3 as Amazon enforces it: the emulators check no signature and no permission, so the gateway in front
    // of them does. An external endpoint checks its own keys, and every session gets those.
    let gatedS3Endpoint = s3.endpoint;
    if (sessions) {
      const gateway = await startIamGateway({
        upstream: s3.endpoint,
        region,
        accountId: AWS_ACCOUNT_ID,
        administrator: s3.credentials,
        sessions,
        roles: sts.model.roles,
        port: defaultPorts ? DEFAULT_PORTS.s3 : 0,
        log,
      });
      closers.push(() => gateway.close());
      gatedS3Endpoint = gateway.endpoint;
    }

    // The blob endpoint every client sees is the storage-events proxy (Azure raises events as part of
    // each operation); a fault proxy, when asked for, stands in front of it and of S3.
    let delivery: EventDelivery | undefined;
    let publicBlobEndpoint = '';
    const storage = await startStorageEventsProxy({
      upstream: azurite.origin,
      port: defaultPorts ? DEFAULT_PORTS.blob : 0,
      accountName: AZURITE_ACCOUNT_NAME,
      upstreamConnectionString: azuriteConnectionString({ blob: `${azurite.origin}/${AZURITE_ACCOUNT_NAME}` }),
      publicBlobEndpoint: () => publicBlobEndpoint,
      raise: (event) => delivery?.enqueue(event),
      log,
    });
    closers.push(() => storage.close());
    let blobEndpoint = `${storage.origin}/${AZURITE_ACCOUNT_NAME}`;
    let s3Endpoint = gatedS3Endpoint;
    let faults: LocalCloud['faults'];
    if (options.faultProxy) {
      const rules = new FaultRules();
      const [azureProxy, s3Proxy] = await Promise.all([
        startFaultProxy({ service: 'azure', upstream: storage.origin, rules, log }),
        startFaultProxy({ service: 's3', upstream: gatedS3Endpoint, rules, log }),
      ]);
      closers.push(() => azureProxy.close(), () => s3Proxy.close());
      blobEndpoint = `${azureProxy.endpoint}/${AZURITE_ACCOUNT_NAME}`;
      s3Endpoint = s3Proxy.endpoint;
      faults = { failNext: (rule) => rules.failNext(rule), traffic: (service) => rules.traffic(service) };
    }
    publicBlobEndpoint = blobEndpoint;

    const queueEndpoint = `${azuriteQueue.origin}/${AZURITE_ACCOUNT_NAME}`;
    const connectionString = azuriteConnectionString({ blob: blobEndpoint, queue: queueEndpoint });
    const queues = QueueServiceClient.fromConnectionString(connectionString);
    // The queue and its poison queue exist before anything runs, as infra/bicep creates them.
    await Promise.all([
      ensureContainer(connectionString, SOURCE_CONTAINER),
      // Versioned as infra/aws-iam makes it; s3rver has no versioning (NotImplemented).
      ensureBucket({ endpoint: s3Endpoint, region, credentials: s3.credentials, bucket: BACKUP_BUCKET, versioned: s3.kind !== 's3rver' && options.bucket?.versioned !== false }),
      queues.getQueueClient(BACKUP_QUEUE_NAME).createIfNotExists(),
      queues.getQueueClient(`${BACKUP_QUEUE_NAME}-poison`).createIfNotExists(),
    ]);
    checkAborted();

    let deadLetter: string;
    if (options.persistDir) deadLetter = join(options.persistDir, 'dead-letter');
    else if (options.stackFile) deadLetter = join(dirname(options.stackFile), 'dead-letter');
    else {
      const temporary = await mkdtemp(join(tmpdir(), 'local-cloud-dead-letter-'));
      closers.push(() => rm(temporary, { recursive: true, force: true }));
      deadLetter = temporary;
    }

    if (options.events) {
      const requested = options.events.target ?? 'queue';
      const target: DeliveryTarget = requested === 'queue' ? { queue: queues.getQueueClient(BACKUP_QUEUE_NAME) } : requested;
      const started = new EventDelivery({
        target,
        maxAttempts: options.events.maxAttempts ?? 5,
        initialBackoffMs: options.events.initialBackoffMs ?? 500,
        maxBackoffMs: options.events.maxBackoffMs ?? 30_000,
        concurrency: options.events.concurrency ?? 8,
        deadLetterDir: deadLetter,
        topic: storageAccountTopic(AZURITE_ACCOUNT_NAME),
        log,
      });
      closers.push(async () => started.close());
      delivery = started;
    }

    const stack: Stack = {
      azure: {
        blobEndpoint,
        accountName: AZURITE_ACCOUNT_NAME,
        accountKey: AZURITE_ACCOUNT_KEY,
        queueEndpoint,
        connectionString,
        sourceContainer: SOURCE_CONTAINER,
      },
      aws: {
        region,
        s3Endpoint,
        bucket: BACKUP_BUCKET,
        prefix: backupPrefix,
        stsEndpoint: sts.endpoint,
        roleArn: sts.roleArn,
        emulatorAccessKeyId: s3.credentials.accessKeyId,
        emulatorSecretAccessKey: s3.credentials.secretAccessKey,
        s3Features: s3.features,
      },
      identity: {
        tenantId: identity.tenantId,
        issuer: identity.issuer,
        audience: identity.audience,
        identityEndpoint: identity.identityEndpoint,
        identityHeader: identity.identityHeader,
        imdsHost: identity.imdsHost,
        backupIdentity: identity.backupIdentity,
        intruderIdentity: identity.intruderIdentity,
        systemIdentity: identity.systemIdentity,
      },
      events: {
        delivery: !options.events ? 'off' : typeof options.events.target === 'object' ? ('webhookUrl' in options.events.target ? 'webhook' : 'handler') : 'queue',
        queueName: BACKUP_QUEUE_NAME,
        poisonQueueName: `${BACKUP_QUEUE_NAME}-poison`,
        deadLetter,
      },
    };
    if (options.stackFile) {
      const stackFile = options.stackFile;
      await writeStackFile(stackFile, stack);
      // A stale stack.json would send clients to dead ports: it goes first when stopping.
      closers.push(() => rm(stackFile, { force: true }));
    }

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= closeAll();
      return stopping;
    };
    options.abortSignal?.addEventListener('abort', () => void stop(), { once: true });
    log({ msg: 'local cloud ready', blobEndpoint, s3Endpoint, s3: s3.kind, stsEndpoint: sts.endpoint, issuer: identity.issuer });

    return {
      stack,
      stop,
      sts: {
        requestCount: () => sts.requestCount(),
        failNext: (code, times) => sts.failNext(code, times),
        issueSessionsOf: (seconds) => sts.issueSessionsOf(seconds),
      },
      identity: { mintToken: (o) => identity.mintToken(o), rotateKeys: () => identity.rotateKeys() },
      events: {
        idle: async () => {
          await storage.idle();
          await delivery?.idle();
        },
        delivered: () => delivery?.delivered() ?? [],
        deadLettered: () => delivery?.deadLettered() ?? [],
      },
      faults,
      childPids: [azurite.child.pid, azuriteQueue.child.pid, ...s3.children.map((child) => child.pid)],
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
