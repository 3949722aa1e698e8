import { z } from 'zod';
import { S3_CHECKSUMS } from './settings.js';

// `.local-cloud/stack.json`: what tools/local-cloud publishes (every endpoint, identity and credential a
// client of the local cloud needs) and what the CLI's `--local`, the Function's local settings and the
// bench read. Field names are documented in tools/local-cloud/README.md.

const managedIdentitySchema = z.object({
  /** Application (client) id: the token's `appid`; how a user-assigned identity is chosen. */
  clientId: z.string(),
  /** Principal (object) id: the token's `sub` and `oid`; what the trust policy pins. */
  principalId: z.string(),
  /** ARM resource id (`/subscriptions/.../userAssignedIdentities/<name>`): the token's `xms_mirid`. */
  resourceId: z.string(),
});

export type ManagedIdentityInfo = z.infer<typeof managedIdentitySchema>;

const operatorUserSchema = z.object({
  /** The person's object id: the token's `oid`. */
  objectId: z.string(),
  /**
   * The token's `sub` for the stack's audience: pairwise (per user and audience), not the object id; what the
   * restore role's trust policy pins (RestoreOperatorSubject).
   */
  subject: z.string(),
  userPrincipalName: z.string(),
  /** Where the person's access token comes from locally (a stand-in for `az login`), with `identityHeader`. */
  tokenEndpoint: z.string(),
});

export type OperatorUserInfo = z.infer<typeof operatorUserSchema>;

export const stackSchema = z.object({
  azure: z.object({
    /** Blob endpoint clients use; operations on it raise BlobCreated/BlobDeleted, as on Azure. */
    blobEndpoint: z.string(),
    queueEndpoint: z.string(),
    accountName: z.string(),
    accountKey: z.string(),
    /** Names both endpoints (BlobEndpoint, QueueEndpoint). */
    connectionString: z.string(),
    sourceContainer: z.string(),
    /**
     * The Function app's host storage (AzureWebJobsStorage: timer locks and schedule status; Event Grid's
     * dead letters): Azurite itself, with no storage-events proxy or fault proxy in front, as on Azure it is
     * another account, whose writes no subscription announces and whose outages are its own.
     */
    hostStorageConnectionString: z.string(),
  }),
  aws: z.object({
    region: z.string(),
    s3Endpoint: z.string(),
    bucket: z.string(),
    prefix: z.string(),
    stsEndpoint: z.string(),
    roleArn: z.string(),
    /** The read-only role `blobferry restore` assumes (infra/aws-iam's RestoreRole), trusting `identity.operatorUser`. */
    restoreRoleArn: z.string(),
    /**
     * The account administrator's key pair, allowed everything by the S3 gateway (the emulator's own pair). STS
     * gives each role session a pair of its own, held to the role's policies (an external endpoint: this pair).
     */
    emulatorAccessKeyId: z.string(),
    emulatorSecretAccessKey: z.string(),
    /**
     * What the S3 emulator does with checksums and conditional writes (libs/transfer's S3EndpointFeatures):
     * moto stores CRC32 full-object checksums and enforces If-None-Match / If-Match; s3rver ignores both.
     */
    s3Features: z.object({ checksum: z.enum(S3_CHECKSUMS), conditionalWrites: z.boolean() }),
  }),
  identity: z.object({
    tenantId: z.string(),
    /** `http://127.0.0.1:PORT/<tenant-id>/`, the local stand-in for `https://sts.windows.net/<tenant-id>/`. */
    issuer: z.string(),
    audience: z.string(),
    /** App Service style endpoint (`IDENTITY_ENDPOINT`) and its secret header value (`IDENTITY_HEADER`). */
    identityEndpoint: z.string(),
    identityHeader: z.string(),
    /** IMDS style host (`AZURE_POD_IDENTITY_AUTHORITY_HOST`). */
    imdsHost: z.string(),
    backupIdentity: managedIdentitySchema,
    intruderIdentity: managedIdentitySchema,
    /** The identity served when no identity is named (system-assigned). */
    systemIdentity: managedIdentitySchema,
    /** A person (not a managed identity) who restores: their token's `sub` differs from their object id. */
    operatorUser: operatorUserSchema,
  }),
  events: z.object({
    /** Where the backup subscription delivers; `off` for a stack started without events. */
    delivery: z.enum(['queue', 'webhook', 'handler', 'off']),
    /** The backup queue, which the backup subscription writes to (one event per message, JSON text), and its poison queue. */
    queueName: z.string(),
    poisonQueueName: z.string(),
    /** The backup subscription's name, which names its folder in the dead-letter container (upper-cased). */
    subscriptionName: z.string(),
    /**
     * The inventory subscription: BlobInventoryPolicyCompleted only, into its own queue (the Function's inventory
     * trigger reads it) in the account of the backup queue; delivering whenever `delivery` is not `off`.
     */
    inventory: z.object({ queueName: z.string(), poisonQueueName: z.string(), subscriptionName: z.string() }),
    /**
     * Event Grid's dead-letter container, in the host storage: blobs `<SUBSCRIPTION NAME>/<Y>/<M>/<D>/<H>/<guid>.json`,
     * each a JSON array of events with their dead-letter properties.
     */
    deadLetterContainerUrl: z.string(),
  }),
  /**
   * The running stack's control endpoint (outages of its public endpoints), on loopback, and the token every
   * request to it carries. Present when the stack runs its fault proxy.
   */
  control: z.object({ endpoint: z.string(), token: z.string() }).optional(),
});

export type Stack = z.infer<typeof stackSchema>;
