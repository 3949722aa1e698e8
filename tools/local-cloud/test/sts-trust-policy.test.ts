import { describe, expect, it } from 'vitest';
import { evaluateTrustPolicy, type PolicyStatement, type TrustRequest } from '../src/iam/policy.js';

const PROVIDER = 'arn:aws:iam::000000000000:oidc-provider/sts.windows.net/tenant/';
const KEY = 'sts.windows.net/tenant/';

function request(context: TrustRequest['context'], overrides: Partial<TrustRequest> = {}): TrustRequest {
  return { federatedPrincipal: PROVIDER, action: 'sts:AssumeRoleWithWebIdentity', context, ...overrides };
}

function allows(
  statement: Partial<PolicyStatement> | PolicyStatement[],
  context: TrustRequest['context'],
  overrides: Partial<TrustRequest> = {},
) {
  const statements = Array.isArray(statement)
    ? statement
    : [{ Effect: 'Allow' as const, Principal: { Federated: PROVIDER }, Action: 'sts:AssumeRoleWithWebIdentity', ...statement }];
  return evaluateTrustPolicy({ Version: '2012-10-17', Statement: statements }, request(context, overrides)).allowed;
}

describe('trust policy evaluation', () => {
  const pinned = { Condition: { StringEquals: { [`${KEY}:aud`]: 'api://app', [`${KEY}:sub`]: 'principal-1' } } };

  it('allows only when principal, action and every condition match', () => {
    expect(allows(pinned, { [`${KEY}:aud`]: ['api://app'], [`${KEY}:sub`]: 'principal-1' })).toBe(true);
    expect(allows(pinned, { [`${KEY}:aud`]: ['api://app'], [`${KEY}:sub`]: 'principal-2' })).toBe(false);
    expect(allows(pinned, { [`${KEY}:aud`]: ['api://other'], [`${KEY}:sub`]: 'principal-1' })).toBe(false);
    expect(allows(pinned, { [`${KEY}:aud`]: ['api://app'] })).toBe(false);
    const context = { [`${KEY}:aud`]: ['api://app'], [`${KEY}:sub`]: 'principal-1' };
    expect(allows(pinned, context, { federatedPrincipal: `${PROVIDER}other/` })).toBe(false);
    expect(allows(pinned, context, { action: 'sts:AssumeRole' })).toBe(false);
  });

  it('matches condition keys case-insensitively and values exactly', () => {
    expect(allows(pinned, { [`${KEY.toUpperCase()}:AUD`]: 'api://app', [`${KEY}:Sub`]: 'principal-1' })).toBe(true);
    expect(allows(pinned, { [`${KEY}:aud`]: 'API://APP', [`${KEY}:sub`]: 'principal-1' })).toBe(false);
  });

  it('supports StringLike wildcards, value lists and action wildcards', () => {
    const like = { Action: ['sts:AssumeRole*'], Condition: { StringLike: { [`${KEY}:sub`]: ['nope', 'principal-?'] } } };
    expect(allows(like, { [`${KEY}:sub`]: 'principal-7' })).toBe(true);
    expect(allows(like, { [`${KEY}:sub`]: 'principal-77' })).toBe(false);
    expect(allows({ Condition: { StringLike: { [`${KEY}:sub`]: 'prin*' } } }, { [`${KEY}:sub`]: 'principal-77' })).toBe(true);
  });

  it('supports ForAnyValue / ForAllValues on multi-valued keys and negated operators', () => {
    const amr = `${KEY}:amr`;
    expect(allows({ Condition: { 'ForAnyValue:StringEquals': { [amr]: 'mfa' } } }, { [amr]: ['pwd', 'mfa'] })).toBe(true);
    expect(allows({ Condition: { 'ForAnyValue:StringEquals': { [amr]: 'mfa' } } }, {})).toBe(false);
    expect(allows({ Condition: { 'ForAllValues:StringEquals': { [amr]: ['pwd', 'mfa'] } } }, { [amr]: ['pwd', 'mfa'] })).toBe(true);
    expect(allows({ Condition: { 'ForAllValues:StringEquals': { [amr]: ['pwd'] } } }, { [amr]: ['pwd', 'mfa'] })).toBe(false);
    expect(allows({ Condition: { StringNotEquals: { [`${KEY}:sub`]: 'bad' } } }, { [`${KEY}:sub`]: 'good' })).toBe(true);
    expect(allows({ Condition: { StringNotEquals: { [`${KEY}:sub`]: 'bad' } } }, { [`${KEY}:sub`]: 'bad' })).toBe(false);
    expect(allows({ Condition: { StringEqualsIfExists: { [`${KEY}:oid`]: 'x' } } }, {})).toBe(true);
    expect(allows({ Condition: { Null: { [`${KEY}:oid`]: 'false' } } }, {})).toBe(false);
  });

  it('lets an explicit Deny win and refuses operators it does not know', () => {
    const allow: PolicyStatement = { Effect: 'Allow', Principal: { Federated: PROVIDER }, Action: 'sts:*' };
    const deny: PolicyStatement = {
      Effect: 'Deny',
      Principal: '*',
      Action: '*',
      Condition: { StringEquals: { [`${KEY}:sub`]: 'banned' } },
    };
    expect(allows([allow, deny], { [`${KEY}:sub`]: 'fine' })).toBe(true);
    expect(allows([allow, deny], { [`${KEY}:sub`]: 'banned' })).toBe(false);
    expect(allows({ Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } }, {})).toBe(false);
    expect(evaluateTrustPolicy({ Statement: [] }, request({}))).toEqual({
      allowed: false,
      reason: 'no statement allows this request',
      explicitDeny: false,
    });
  });
});
