import { DEFAULT_BACKUP_QUEUE_NAME } from '@blobferry/contract';

// Fixed names and well-known values of the local stack. Azurite and s3rver only accept their own
// built-in key pairs, so those are constants too (they are public, documented emulator keys).

export const AZURITE_ACCOUNT_NAME = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const SOURCE_CONTAINER = 'source';
/** The queue the Event Grid subscription writes to, as infra/bicep deploys it. */
export const BACKUP_QUEUE_NAME = DEFAULT_BACKUP_QUEUE_NAME;
/** The Event Grid subscription (EVENT_SUBSCRIPTION_NAME), named as infra/bicep names it for environment `local`. */
export const EVENT_SUBSCRIPTION_NAME = 'local-blobferry-backup';
/**
 * The subscription that delivers BlobInventoryPolicyCompleted into the inventory queue (libs/contract
 * INVENTORY_QUEUE_NAME), named after EVENT_SUBSCRIPTION_NAME's pattern (`<prefix>-inventory`).
 */
export const INVENTORY_SUBSCRIPTION_NAME = 'local-blobferry-inventory';
/** Event Grid's dead-letter container in the host storage (DEAD_LETTER_CONTAINER_URL), as infra/bicep names it. */
export const DEAD_LETTER_CONTAINER = 'eventgrid-deadletter';
/** The Function's state container (STATE_CONTAINER_URL), as infra/bicep names it. */
export const STATE_CONTAINER = 'blobferry-state';
/** The sweep's schedule under `npm start`: every 2 minutes, so a user sees it work (infra/bicep's default is every 6 hours). */
export const LOCAL_SWEEP_SCHEDULE = '0 */2 * * * *';
/** How late an event may be under `npm start` (infra/bicep leaves the Function's default, 15 minutes). */
export const LOCAL_SWEEP_EVENT_LAG = '1m';

export const AWS_REGION = 'us-east-1';
export const AWS_ACCOUNT_ID = '000000000000';
export const BACKUP_BUCKET = 'blobferry-backup';
export const BACKUP_PREFIX = '';
/** infra/aws-iam's RestoreRoleName default: the read-only role blobferry restore assumes. */
export const RESTORE_ROLE_NAME = 'blobferry-restore';
export const S3RVER_KEY_PAIR = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
/**
 * moto serves any key pair (documented limit: it does not authenticate S3 requests the way S3 does); this
 * one is what STS hands out in front of it, so the identity checks that matter happen at the local STS.
 */
export const MOTO_KEY_PAIR = { accessKeyId: 'moto-access-key', secretAccessKey: 'moto-secret-key' } as const;
export const MOTO_VERSION = '5.2.5';

/** The Azure subscription and resource group the local storage account pretends to live in (Event Grid `topic`). */
export const SUBSCRIPTION_ID = '00000000-0000-4000-8000-00000000b10b';
export const RESOURCE_GROUP = 'blobferry-local';

/** Ports used with `ports: 'default'` (`local-cloud up --ports default`). */
export const DEFAULT_PORTS = { blob: 10000, queue: 10001, s3: 4568, identity: 4580, sts: 4581, control: 4582 } as const;
