import { AWS_IAM_TEMPLATE_PATH } from '../workspace-paths.js';
import type { StartStsOptions } from './index.js';

export interface ShippedTrustOptions {
  tenantId: string;
  issuer: string;
  audience: string;
  /** The principal (object) id the role's trust policy admits (template parameter PrincipalId). */
  principalId: string;
  bucket: string;
  bucketPrefix?: string;
  /** Template parameter AllowDeleteMarkers. */
  allowDeleteMarkers?: boolean;
  /** Template parameter RestoreOperatorSubject: the token `sub` the restore role admits (none: no restore role). */
  restoreOperatorSubject?: string;
}

/**
 * The STS options that evaluate the shipped infra/aws-iam template for one local tenant: its
 * parameters, and the local issuer standing for Entra's `https://sts.windows.net/<tenant>/`, which the
 * template's OIDC provider names.
 */
export function shippedTrust(o: ShippedTrustOptions): Pick<StartStsOptions, 'templatePath' | 'templateParameters' | 'issuerAliases'> {
  return {
    templatePath: AWS_IAM_TEMPLATE_PATH,
    templateParameters: {
      TenantId: o.tenantId,
      PrincipalId: o.principalId,
      Audience: o.audience,
      BucketName: o.bucket,
      ...(o.bucketPrefix !== undefined ? { BucketPrefix: o.bucketPrefix } : {}),
      ...(o.allowDeleteMarkers !== undefined ? { AllowDeleteMarkers: String(o.allowDeleteMarkers) } : {}),
      ...(o.restoreOperatorSubject !== undefined ? { RestoreOperatorSubject: o.restoreOperatorSubject } : {}),
      // The local cloud writes inventory reports on demand (local-cloud inventory): the role reads them as deployed.
      EnableInventory: 'true',
    },
    issuerAliases: { [`https://sts.windows.net/${o.tenantId}/`]: o.issuer },
  };
}
