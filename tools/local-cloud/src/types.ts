// The contract every other part of the workspace builds on. `stack.json` has exactly the shape of
// `Stack`; field names are documented in tools/local-cloud/README.md and must not drift.

export interface ManagedIdentityInfo {
  /** Application (client) id: the token's `appid`; how a user-assigned identity is chosen. */
  clientId: string;
  /** Principal (object) id: the token's `sub` and `oid`; what the trust policy pins. */
  principalId: string;
  /** ARM resource id (`/subscriptions/.../userAssignedIdentities/<name>`): the token's `xms_mirid`. */
  resourceId: string;
}

export interface Stack {
  azure: {
    /** Blob endpoint clients use; operations on it raise BlobCreated/BlobDeleted, as on Azure. */
    blobEndpoint: string;
    queueEndpoint: string;
    accountName: string;
    accountKey: string;
    /** Names both endpoints (BlobEndpoint, QueueEndpoint). */
    connectionString: string;
    sourceContainer: string;
  };
  aws: {
    region: string;
    s3Endpoint: string;
    bucket: string;
    prefix: string;
    stsEndpoint: string;
    roleArn: string;
    /**
     * The account administrator's key pair, allowed everything by the S3 gateway (the emulator's own pair). STS
     * gives each role session a pair of its own, held to the role's policies (an external endpoint: this pair).
     */
    emulatorAccessKeyId: string;
    emulatorSecretAccessKey: string;
    /**
     * What the S3 emulator does with checksums and conditional writes (libs/transfer's S3EndpointFeatures):
     * moto stores CRC32 full-object checksums and enforces If-None-Match / If-Match; s3rver ignores both.
     */
    s3Features: { checksum: 'CRC32' | 'none'; conditionalWrites: boolean };
  };
  identity: {
    tenantId: string;
    /** `http://127.0.0.1:PORT/<tenant-id>/`, the local stand-in for `https://sts.windows.net/<tenant-id>/`. */
    issuer: string;
    audience: string;
    /** App Service style endpoint (`IDENTITY_ENDPOINT`) and its secret header value (`IDENTITY_HEADER`). */
    identityEndpoint: string;
    identityHeader: string;
    /** IMDS style host (`AZURE_POD_IDENTITY_AUTHORITY_HOST`). */
    imdsHost: string;
    backupIdentity: ManagedIdentityInfo;
    intruderIdentity: ManagedIdentityInfo;
    /** The identity served when no identity is named (system-assigned). */
    systemIdentity: ManagedIdentityInfo;
  };
  events: {
    /** Where the Event Grid subscription delivers; `off` for a stack started without events. */
    delivery: 'queue' | 'webhook' | 'handler' | 'off';
    /** The queue Event Grid writes to (one event per message, JSON text) and its poison queue. */
    queueName: string;
    poisonQueueName: string;
    /** Folder where events that exhausted their delivery attempts are written, one JSON file each. */
    deadLetter: string;
  };
}

/** An event in the Event Grid schema, as it travels on the wire (`eventTime` is an ISO string). */
export interface EventGridEvent<TData = unknown> {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: TData;
  dataVersion: string;
  metadataVersion: string;
}

/** `data` of `Microsoft.Storage.BlobCreated`, field for field as Azure Storage sends it. */
export interface BlobCreatedEventData {
  api: 'PutBlob' | 'PutBlockList' | 'CopyBlob';
  clientRequestId: string;
  requestId: string;
  eTag: string;
  contentType: string;
  contentLength: number;
  blobType: 'BlockBlob' | 'AppendBlob' | 'PageBlob';
  accessTier: string;
  url: string;
  sequencer: string;
  storageDiagnostics: { batchId: string };
}

/** `data` of `Microsoft.Storage.BlobDeleted`. */
export interface BlobDeletedEventData {
  api: 'DeleteBlob';
  clientRequestId: string;
  requestId: string;
  contentType: string;
  blobType: BlobCreatedEventData['blobType'];
  url: string;
  sequencer: string;
  storageDiagnostics: { batchId: string };
}

/** A dead-lettered event: the event plus Event Grid's dead-letter properties. */
export interface DeadLetteredEvent extends EventGridEvent {
  deadLetterReason: 'MaxDeliveryAttemptsExceeded';
  deliveryAttempts: number;
  lastDeliveryOutcome: string;
  lastHttpStatusCode: number;
  publishTime: string;
  lastDeliveryAttemptTime: string;
}
