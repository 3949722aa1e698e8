import { randomBytes } from 'node:crypto';
import { NOT_AUTHORIZED, StsError } from './errors.js';
import type { IamModel, IamRole, OidcProvider } from '../iam/model.js';
import type { AssumeRoleWithWebIdentityResult } from './query-protocol.js';
import { evaluateTrustPolicy } from '../iam/policy.js';
import { RoleSessions } from '../iam/sessions.js';
import { decodeWebIdentityToken, type IssuerKeys } from './web-identity-verifier.js';

// AssumeRoleWithWebIdentity, checked in the order AWS checks: request parameters, role, token
// (issuer -> provider, signature, audience, lifetime), then the role's trust policy.

/** Allowance for clocks that disagree between the identity provider and STS. */
const CLOCK_SKEW_SECONDS = 60;
const DEFAULT_DURATION_SECONDS = 3600;

export interface AssumeRoleDependencies {
  model: IamModel;
  /** AWS provider URL -> the local issuer URL that stands for it (and serves its keys). */
  issuerAliases: Readonly<Record<string, string>>;
  keys: IssuerKeys;
  /**
   * Where session keys come from: a key pair of their own per session, registered for the S3 gateway that
   * enforces the role's policies, or (for an S3 endpoint the local cloud does not front) that endpoint's own
   * static pair, which then works for every session alike.
   */
  credentials: RoleSessions | { accessKeyId: string; secretAccessKey: string };
  /** Sessions last this long whatever was asked (a test hook: see Sts.issueSessionsOf). */
  sessionSeconds?: number;
  now?: () => Date;
}

export interface AssumeRoleOutcome {
  result: AssumeRoleWithWebIdentityResult;
  /** Facts worth logging; never the token or the credentials. */
  log: Record<string, unknown>;
}

export async function assumeRoleWithWebIdentity(params: URLSearchParams, deps: AssumeRoleDependencies): Promise<AssumeRoleOutcome> {
  const request = validateParameters(params);
  const role = findRole(deps.model, request.roleArn);
  const durationSeconds = request.durationSeconds ?? DEFAULT_DURATION_SECONDS;
  if (durationSeconds > role.maxSessionDurationSeconds) {
    throw new StsError('ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  }

  const decoded = decodeWebIdentityToken(request.webIdentityToken);
  const { claims } = decoded;
  if (typeof claims.iss !== 'string') throw new StsError('InvalidIdentityToken', 'The web identity token has no iss claim');
  const provider = findProvider(deps, claims.iss);
  await deps.keys.verifySignature(request.webIdentityToken, decoded, deps.issuerAliases[provider.url] ?? provider.url);

  const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  const audience = audiences.find((aud) => provider.clientIds.includes(aud));
  if (audience === undefined) throw new StsError('InvalidIdentityToken', 'Incorrect token audience', `aud ${JSON.stringify(claims.aud)}`);

  const now = (deps.now ?? (() => new Date()))();
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (typeof claims.exp !== 'number') throw new StsError('InvalidIdentityToken', 'The web identity token has no exp claim');
  if (claims.exp + CLOCK_SKEW_SECONDS <= nowSeconds) {
    throw new StsError(
      'ExpiredTokenException',
      `Token expired: current date/time ${nowSeconds} must be before the expiration date/time ${claims.exp}`,
    );
  }
  if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS > nowSeconds) {
    throw new StsError('InvalidIdentityToken', 'The web identity token is not valid yet (nbf is in the future)');
  }

  const hostPath = provider.url.replace(/^https:\/\//, '');
  const context: Record<string, string | readonly string[]> = { [`${hostPath}:aud`]: audiences };
  for (const claim of ['sub', 'oid', 'amr'] as const) {
    const value = claims[claim];
    if (typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'))) {
      context[`${hostPath}:${claim}`] = value as string | string[];
    }
  }
  const decision = evaluateTrustPolicy(role.trustPolicy, {
    federatedPrincipal: provider.arn,
    action: 'sts:AssumeRoleWithWebIdentity',
    context,
  });
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  if (!decision.allowed) {
    throw new StsError('AccessDenied', NOT_AUTHORIZED, `${role.arn}: ${decision.reason} (sub ${subject}, aud ${audience})`);
  }

  const expiration = new Date(now.getTime() + (deps.sessionSeconds ?? durationSeconds) * 1000);
  const assumedRoleArn = `arn:aws:sts::${deps.model.accountId}:assumed-role/${role.name}/${request.roleSessionName}`;
  const credentials =
    deps.credentials instanceof RoleSessions
      ? deps.credentials.issue({ roleArn: role.arn, assumedRoleArn, expiration })
      : { ...deps.credentials, sessionToken: randomBytes(96).toString('base64'), expiration };
  const result: AssumeRoleWithWebIdentityResult = {
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      expiration,
    },
    subjectFromWebIdentityToken: subject,
    assumedRoleUser: {
      arn: assumedRoleArn,
      assumedRoleId: `${role.roleId}:${request.roleSessionName}`,
    },
    provider: provider.arn,
    audience,
  };
  return {
    result,
    log: {
      roleArn: role.arn,
      roleSessionName: request.roleSessionName,
      subject,
      audience,
      issuer: claims.iss,
      allowedBy: decision.statement,
      durationSeconds,
      ...(request.policyGiven ? { note: 'session Policy/PolicyArns ignored: the local STS does not scope sessions' } : {}),
    },
  };
}

interface ValidatedRequest {
  roleArn: string;
  roleSessionName: string;
  webIdentityToken: string;
  durationSeconds?: number;
  policyGiven: boolean;
}

function validateParameters(params: URLSearchParams): ValidatedRequest {
  const problems: string[] = [];
  const required = (name: string, member: string, min: number, max: number): string => {
    const value = params.get(name);
    if (value === null) {
      problems.push(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
      return '';
    }
    if (value.length < min) {
      problems.push(`Value at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`);
    } else if (value.length > max) {
      problems.push(`Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
    }
    return value;
  };
  const roleArn = required('RoleArn', 'roleArn', 20, 2048);
  const roleSessionName = required('RoleSessionName', 'roleSessionName', 2, 64);
  if (roleSessionName && !/^[\w+=,.@-]*$/.test(roleSessionName)) {
    problems.push(
      `Value '${roleSessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  const webIdentityToken = required('WebIdentityToken', 'webIdentityToken', 4, 20000);
  const rawDuration = params.get('DurationSeconds');
  let durationSeconds: number | undefined;
  if (rawDuration !== null) {
    durationSeconds = Number(rawDuration);
    if (!/^\d+$/.test(rawDuration)) {
      problems.push(`Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`);
    } else if (durationSeconds < 900) {
      problems.push(
        `Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`,
      );
    } else if (durationSeconds > 43200) {
      problems.push(
        `Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`,
      );
    }
  }
  const policy = params.get('Policy');
  if (policy !== null && (policy.length < 1 || policy.length > 2048)) {
    problems.push("Value at 'policy' failed to satisfy constraint: Member must have length between 1 and 2048");
  }
  if (problems.length > 0) {
    const count = problems.length === 1 ? '1 validation error' : `${problems.length} validation errors`;
    throw new StsError('ValidationError', `${count} detected: ${problems.join('; ')}`);
  }
  if (!/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/.test(roleArn)) {
    throw new StsError('ValidationError', `${roleArn} is invalid`);
  }
  const policyGiven = policy !== null || [...params.keys()].some((key) => key.startsWith('PolicyArns.'));
  return {
    roleArn,
    roleSessionName,
    webIdentityToken,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    policyGiven,
  };
}

function findRole(model: IamModel, roleArn: string): IamRole {
  const role = model.roles.find((candidate) => candidate.arn === roleArn);
  // AWS does not reveal whether a role exists to a caller who may not assume it.
  if (!role) throw new StsError('AccessDenied', NOT_AUTHORIZED, `no role ${roleArn} in the template`);
  return role;
}

function findProvider(deps: AssumeRoleDependencies, issuer: string): OidcProvider {
  const provider = deps.model.providers.find((candidate) => candidate.url === issuer || deps.issuerAliases[candidate.url] === issuer);
  if (!provider) {
    throw new StsError('InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${issuer}`);
  }
  return provider;
}
