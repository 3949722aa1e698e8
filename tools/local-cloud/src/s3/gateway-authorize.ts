import { request as httpRequest } from 'node:http';
import { evaluateIdentityPolicies, type PolicyDecision } from '../iam/policy.js';
import type { Caller } from './gateway-authenticate.js';
import type { RequiredPermission } from './s3-permissions.js';
import { S3AuthError } from './sigv4.js';

export interface AuthorizeOptions {
  caller: Caller;
  permissions: readonly RequiredPermission[];
  /** The bucket the request names: asked whether it exists before access to it is refused. */
  bucket: string | undefined;
  /** The emulator's origin. */
  upstream: URL;
}

/** Throws S3's refusal unless the caller's policies allow every permission (the administrator's always do). */
export async function authorize({ caller, permissions, bucket, upstream }: AuthorizeOptions): Promise<void> {
  if (caller.policies === undefined) return;
  for (const permission of permissions) {
    const decision = evaluateIdentityPolicies(caller.policies, permission);
    if (decision.allowed) continue;
    if (bucket !== undefined && !(await bucketExists(upstream, bucket)))
      throw new S3AuthError('NoSuchBucket', 404, 'The specified bucket does not exist');
    throw accessDenied(caller, permission, decision);
  }
}

/** Whether the caller may list the bucket: without it, S3 answers 403 for a missing object, not 404. */
export function mayList(caller: Caller, bucket: string): boolean {
  return (
    caller.policies === undefined ||
    evaluateIdentityPolicies(caller.policies, { action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: {} }).allowed
  );
}

function accessDenied(caller: Caller, permission: RequiredPermission, decision: Extract<PolicyDecision, { allowed: false }>): S3AuthError {
  const why = decision.explicitDeny
    ? `with an explicit deny in an identity-based policy (${decision.reason})`
    : `because ${decision.reason}`;
  return new S3AuthError(
    'AccessDenied',
    403,
    `User: ${caller.arn} is not authorized to perform: ${permission.action} on resource: "${permission.resource}" ${why}`,
  );
}

// Whether a bucket exists is public on S3 (404 NoSuchBucket to anyone, 403 only for a bucket that exists).
function bucketExists(upstream: URL, bucket: string): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    httpRequest({ host: upstream.hostname, port: upstream.port, method: 'HEAD', path: `/${encodeURIComponent(bucket)}` }, (response) => {
      response.resume();
      resolve(response.statusCode !== 404);
    })
      .on('error', reject)
      .end();
  });
}
