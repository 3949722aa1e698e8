import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { azuriteConnectionString, ensureContainer, startAzurite } from './azurite.js';
import {
  AWS_ACCOUNT_ID,
  AWS_REGION,
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  BACKUP_BUCKET,
  BACKUP_PREFIX,
  DEFAULT_PORTS,
  SOURCE_CONTAINER,
} from './constants.js';
import { storageAccountTopic } from './events/blob-created-event.js';
import { BlobWatcher } from './events/blob-watcher.js';
import { EventDelivery } from './events/delivery.js';
import { startEventFeed, type EventFeed } from './events/event-feed.js';
import { FaultRules, startFaultProxy, type FaultRule } from './fault-proxy.js';
import { DEFAULT_AUDIENCE, startIdentityPlane, type IdentityPlane, type MintTokenOptions } from './identity/index.js';
import { ensureBucket } from './s3/ensure-bucket.js';
import { startMoto } from './s3/moto.js';
import type { RunningS3 } from './s3/running-s3.js';
import { startS3rver } from './s3/s3rver.js';
import { shippedTrust, startSts } from './sts/index.js';
import type { EventGridEvent, Stack } from './types.js';
import { DEFAULT_MOTO_VENV_DIR } from './workspace-paths.js';

export type Log = (entry: Record<string, unknown>) => void;

export interface EventOptions {
  /** In-process delivery; throwing counts as a failed delivery. */
  handler?: (event: EventGridEvent) => Promise<void>;
  /** Or POST to a webhook, after the SubscriptionValidation handshake. */
  webhookUrl?: string;
  /** How often Azurite is listed for new blobs (default 250 ms). */
  pollIntervalMs?: number;
  /** Attempts before an event is dead-lettered (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt (default 500 ms) up to `maxBackoffMs` (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deliveries in flight at once (default 8). */
  concurrency?: number;
}

export interface LocalCloudOptions {
  /** S3 implementation: s3rver (default), moto (venv under `.local-cloud/moto-venv`), or any S3 endpoint. */
  s3?: 's3rver' | 'moto' | { endpoint: string; accessKeyId: string; secretAccessKey: string; region?: string };
  /** `free` (default) picks free ports; `default` uses DEFAULT_PORTS. */
  ports?: 'free' | 'default';
  /** Keep Azurite's and s3rver's data (and dead letters) in this folder; in-memory/temp by default. */
  persistDir?: string;
  /** Where to write stack.json once every part answers; false (default) writes nothing. */
  stackFile?: string | false;
  /** Whose principal id the role's trust policy admits (default the user-assigned backup identity). */
  trust?: 'user-assigned' | 'system-assigned';
  /** Lifetime of managed-identity tokens (default 3600 s). */
  tokenLifetimeSeconds?: number;
  /** Put a fault-injecting proxy in front of Azurite and S3; the stack's endpoints point at it. */
  faultProxy?: boolean;
  /** BlobCreated delivery; off when omitted or false. `{}` records events without delivering them anywhere. */
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
  sts: { requestCount(): number; failNext(code: 'Throttling' | 'IDPCommunicationError', times?: number): void };
  identity: { mintToken(o: MintTokenOptions): Promise<string>; rotateKeys(): void };
  events: { idle(): Promise<void>; delivered(): EventGridEvent[]; deadLettered(): EventGridEvent[] };
  /** Present when started with `faultProxy: true`. */
  faults?: { failNext(rule: FaultRule): void };
  /** Process ids of the emulator children (each leads its own process group). */
  childPids: number[];
}


const stderrLog: Log = (entry) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), component: 'local-cloud', ...entry })}\n`);

async function writeStackFile(path: string, stack: Stack): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(stack, null, 2)}\n`, { mode: 0o600 });
  await rename(partial, path);
}

async function startS3(options: LocalCloudOptions, log: Log): Promise<RunningS3> {
  const s3 = options.s3 ?? 's3rver';
  const port = options.ports === 'default' ? DEFAULT_PORTS.s3 : 0;
  if (s3 === 's3rver') return startS3rver({ port, persistDir: options.persistDir && join(options.persistDir, 's3rver') });
  if (s3 === 'moto') {
    if (options.persistDir) log({ level: 'warn', msg: 'moto keeps data in memory only; --persist applies to Azurite' });
    return startMoto({ port, venvDir: options.motoVenvDir ?? DEFAULT_MOTO_VENV_DIR, log });
  }
  return {
    kind: 'external',
    endpoint: s3.endpoint.replace(/\/+$/, ''),
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    region: s3.region,
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
    const [azuriteStart, s3Start, identityStart] = await Promise.allSettled([
      startAzurite({ port: defaultPorts ? DEFAULT_PORTS.blob : 0, persistDir: options.persistDir && join(options.persistDir, 'azurite') }),
      startS3(options, log),
      startIdentityPlane({
        host: '127.0.0.1',
        port: defaultPorts ? DEFAULT_PORTS.identity : 0,
        tokenLifetimeSeconds: options.tokenLifetimeSeconds,
        audience: DEFAULT_AUDIENCE,
      }),
    ]);
    if (azuriteStart.status === 'fulfilled') closers.push(() => azuriteStart.value.child.stop());
    if (s3Start.status === 'fulfilled') closers.push(() => s3Start.value.stop());
    if (identityStart.status === 'fulfilled') closers.push(() => identityStart.value.close());
    for (const started of [azuriteStart, s3Start, identityStart]) if (started.status === 'rejected') throw started.reason;
    const azurite = (azuriteStart as PromiseFulfilledResult<Awaited<ReturnType<typeof startAzurite>>>).value;
    const s3 = (s3Start as PromiseFulfilledResult<RunningS3>).value;
    const identity = (identityStart as PromiseFulfilledResult<IdentityPlane>).value;
    checkAborted();

    const trustedPrincipal = options.trust === 'system-assigned' ? identity.systemIdentity : identity.backupIdentity;
    const sts = await startSts({
      host: '127.0.0.1',
      port: defaultPorts ? DEFAULT_PORTS.sts : 0,
      ...shippedTrust({
        tenantId: identity.tenantId,
        issuer: identity.issuer,
        audience: identity.audience,
        principalId: trustedPrincipal.principalId,
        bucket: BACKUP_BUCKET,
        bucketPrefix: BACKUP_PREFIX,
      }),
      credentials: s3.credentials,
      accountId: AWS_ACCOUNT_ID,
      log,
    });
    closers.push(() => sts.close());

    const azuriteBlobEndpoint = `${azurite.origin}/${AZURITE_ACCOUNT_NAME}`;
    let blobEndpoint = azuriteBlobEndpoint;
    let s3Endpoint = s3.endpoint;
    let faults: LocalCloud['faults'];
    if (options.faultProxy) {
      const rules = new FaultRules();
      const [azureProxy, s3Proxy] = await Promise.all([
        startFaultProxy({ service: 'azure', upstream: azurite.origin, rules, log }),
        startFaultProxy({ service: 's3', upstream: s3.endpoint, rules, log }),
      ]);
      closers.push(() => azureProxy.close(), () => s3Proxy.close());
      blobEndpoint = `${azureProxy.endpoint}/${AZURITE_ACCOUNT_NAME}`;
      s3Endpoint = s3Proxy.endpoint;
      faults = { failNext: (rule) => rules.failNext(rule) };
    }

    const connectionString = azuriteConnectionString(blobEndpoint);
    const region = s3.region ?? AWS_REGION;
    await Promise.all([
      ensureContainer(connectionString, SOURCE_CONTAINER),
      ensureBucket({ endpoint: s3Endpoint, region, credentials: s3.credentials, bucket: BACKUP_BUCKET }),
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

    let feed: EventFeed | undefined;
    if (options.events) {
      const watcher = new BlobWatcher(azuriteConnectionString(azuriteBlobEndpoint));
      await watcher.baseline();
      const delivery = new EventDelivery({
        handler: options.events.handler,
        webhookUrl: options.events.webhookUrl,
        maxAttempts: options.events.maxAttempts ?? 5,
        initialBackoffMs: options.events.initialBackoffMs ?? 500,
        maxBackoffMs: options.events.maxBackoffMs ?? 30_000,
        concurrency: options.events.concurrency ?? 8,
        deadLetterDir: deadLetter,
        topic: storageAccountTopic(AZURITE_ACCOUNT_NAME),
        log,
      });
      const started = startEventFeed({
        watcher,
        delivery,
        accountName: AZURITE_ACCOUNT_NAME,
        blobEndpoint,
        pollIntervalMs: options.events.pollIntervalMs ?? 250,
        log,
      });
      closers.push(() => started.stop());
      feed = started;
    }

    const stack: Stack = {
      azure: {
        blobEndpoint,
        accountName: AZURITE_ACCOUNT_NAME,
        accountKey: AZURITE_ACCOUNT_KEY,
        connectionString,
        sourceContainer: SOURCE_CONTAINER,
      },
      aws: {
        region,
        s3Endpoint,
        bucket: BACKUP_BUCKET,
        prefix: BACKUP_PREFIX,
        stsEndpoint: sts.endpoint,
        roleArn: sts.roleArn,
        emulatorAccessKeyId: s3.credentials.accessKeyId,
        emulatorSecretAccessKey: s3.credentials.secretAccessKey,
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
      events: { deadLetter },
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
      sts: { requestCount: () => sts.requestCount(), failNext: (code, times) => sts.failNext(code, times) },
      identity: { mintToken: (o) => identity.mintToken(o), rotateKeys: () => identity.rotateKeys() },
      events: {
        idle: () => feed?.idle() ?? Promise.resolve(),
        delivered: () => feed?.delivered() ?? [],
        deadLettered: () => feed?.deadLettered() ?? [],
      },
      faults,
      childPids: [azurite.child.pid, ...s3.children.map((child) => child.pid)],
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
