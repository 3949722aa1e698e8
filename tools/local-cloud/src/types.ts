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
    blobEndpoint: string;
    accountName: string;
    accountKey: string;
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
    /** The only key pair the S3 emulator accepts; STS hands it out (with a session token) on success. */
    emulatorAccessKeyId: string;
    emulatorSecretAccessKey: string;
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
  api: 'PutBlob' | 'PutBlockList';
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

/** A dead-lettered event: the event plus Event Grid's dead-letter properties. */
export interface DeadLetteredEvent extends EventGridEvent {
  deadLetterReason: 'MaxDeliveryAttemptsExceeded';
  deliveryAttempts: number;
  lastDeliveryOutcome: string;
  lastHttpStatusCode: number;
  publishTime: string;
  lastDeliveryAttemptTime: string;
}
