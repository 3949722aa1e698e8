import { AWS_ACCOUNT_ID, AWS_REGION, BACKUP_BUCKET, BACKUP_PREFIX, DEFAULT_PORTS, RESTORE_ROLE_NAME } from '../constants.js';
import { RoleSessions } from '../iam/sessions.js';
import type { LocalCloudOptions, Log } from '../local-cloud.js';
import { startIamGateway } from '../s3/iam-gateway.js';
import { shippedTrust, startSts, type Sts } from '../sts/index.js';
import type { Closers } from './closers.js';
import type { Emulators } from './emulators.js';

export interface AwsSide {
  sts: Sts;
  /** S3 as Amazon enforces it: the IAM gateway in front of an emulator, or the external endpoint itself. */
  s3Endpoint: string;
  region: string;
  /** The role's BucketPrefix, which confines its writes and listings. */
  bucketPrefix: string;
  /** The template's read-only RestoreRole, trusting the local operator user. */
  restoreRoleArn: string;
}

/** Starts STS with the shipped template's role and, in front of an S3 emulator, the IAM gateway. */
export async function startAwsSide(
  options: LocalCloudOptions,
  emulators: Pick<Emulators, 's3' | 'identity'>,
  closers: Closers,
  log: Log,
): Promise<AwsSide> {
  const { s3, identity } = emulators;
  // With a fault proxy, the fault proxy takes the well-known ports.
  const defaultPorts = options.ports === 'default' && !options.faultProxy;
  const trustedPrincipal = options.trust === 'system-assigned' ? identity.systemIdentity : identity.backupIdentity;
  // An external endpoint checks its own keys, and every session gets those.
  const sessions = s3.kind === 'external' ? undefined : new RoleSessions();
  const bucketPrefix = options.bucket?.prefix ?? BACKUP_PREFIX;
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
      bucketPrefix,
      allowDeleteMarkers: options.role?.allowDeleteMarkers ?? false,
      restoreOperatorSubject: identity.operatorUser.subject,
    }),
    credentials: sessions ?? s3.credentials,
    accountId: AWS_ACCOUNT_ID,
    log,
  });
  closers.add(() => sts.close());
  const restoreRole = sts.model.roles.find((role) => role.name === RESTORE_ROLE_NAME);
  if (!restoreRole) throw new Error(`infra/aws-iam/template.yaml declares no role ${RESTORE_ROLE_NAME} for a RestoreOperatorSubject`);
  const restoreRoleArn = restoreRole.arn;
  if (!sessions) return { sts, s3Endpoint: s3.endpoint, region, bucketPrefix, restoreRoleArn };

  // The emulators check no signature and no permission, so the gateway in front of them does.
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
  closers.add(() => gateway.close());
  return { sts, s3Endpoint: gateway.endpoint, region, bucketPrefix, restoreRoleArn };
}
