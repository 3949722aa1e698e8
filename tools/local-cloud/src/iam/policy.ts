// IAM policy evaluation, limited to what the local STS and S3 gateway need: a role's trust policy
// (Federated principals) and its identity policies (Resource/NotResource), Action/NotAction, and the
// String, Bool and Numeric condition operators (with IfExists and the ForAnyValue/ForAllValues set
// qualifiers). An explicit Deny wins; nothing allowed means denied.

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

export interface TrustRequest {
  /** The ARN of the OIDC provider the token came through. */
  federatedPrincipal: string;
  action: string;
  /** Condition keys (any case) to their values; a missing key is absent from the request. */
  context: Record<string, string | readonly string[]>;
}

/** A request against a principal's identity policies: the action, the ARN it acts on, its condition keys. */
export interface IdentityRequest {
  action: string;
  resource: string;
  context: Record<string, string | readonly string[]>;
}

export type PolicyDecision = { allowed: true; statement: string } | { allowed: false; reason: string; explicitDeny: boolean };
export type TrustDecision = PolicyDecision;

export function evaluateTrustPolicy(policy: PolicyDocument, request: TrustRequest): TrustDecision {
  return evaluate(
    [policy],
    request.context,
    'no statement allows this request',
    (statement) =>
      statement.NotPrincipal === undefined &&
      principalMatches(statement.Principal, request.federatedPrincipal) &&
      actionApplies(statement, request.action),
  );
}

/** Evaluates every identity policy of a principal together, as IAM does (a Deny in any of them wins). */
export function evaluateIdentityPolicies(policies: readonly PolicyDocument[], request: IdentityRequest): PolicyDecision {
  return evaluate(
    policies,
    request.context,
    `no identity-based policy allows the ${request.action} action`,
    (statement) =>
      statement.Principal === undefined && actionApplies(statement, request.action) && resourceApplies(statement, request.resource),
  );
}

function evaluate(
  policies: readonly PolicyDocument[],
  requestContext: Record<string, string | readonly string[]>,
  notAllowed: string,
  applies: (statement: PolicyStatement) => boolean,
): PolicyDecision {
  const context = new Map(Object.entries(requestContext).map(([key, value]) => [key.toLowerCase(), toList(value)]));
  let allowedBy: string | undefined;
  for (const policy of policies) {
    const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
    for (const [index, statement] of statements.entries()) {
      if (!applies(statement) || !conditionsHold(statement, context)) continue;
      const name = statement.Sid ?? `Statement[${index}]`;
      if (statement.Effect === 'Deny') return { allowed: false, reason: `explicitly denied by ${name}`, explicitDeny: true };
      if (statement.Effect === 'Allow') allowedBy ??= name;
    }
  }
  return allowedBy ? { allowed: true, statement: allowedBy } : { allowed: false, reason: notAllowed, explicitDeny: false };
}

function actionApplies(statement: PolicyStatement, action: string): boolean {
  if (statement.Action === undefined && statement.NotAction === undefined) return false;
  if (statement.Action !== undefined && !toList(statement.Action).some((pattern) => globToRegExp(pattern, 'i').test(action))) return false;
  return statement.NotAction === undefined || !toList(statement.NotAction).some((pattern) => globToRegExp(pattern, 'i').test(action));
}

/** ARNs match case-sensitively, with IAM wildcards; a statement names Resource or NotResource. */
function resourceApplies(statement: PolicyStatement, resource: string): boolean {
  if (statement.Resource !== undefined) return toList(statement.Resource).some((pattern) => globToRegExp(pattern, '').test(resource));
  if (statement.NotResource !== undefined)
    return !toList(statement.NotResource).some((pattern) => globToRegExp(pattern, '').test(resource));
  return false;
}

function conditionsHold(statement: PolicyStatement, context: Map<string, readonly string[]>): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, conditions]) =>
    Object.entries(conditions).every(([key, expected]) => conditionHolds(operator, context.get(key.toLowerCase()), toList(expected))),
  );
}

function principalMatches(principal: PolicyStatement['Principal'], federated: string): boolean {
  if (principal === '*') return true;
  if (principal === undefined) return false;
  const federatedPrincipals = principal['Federated'];
  return federatedPrincipals !== undefined && toList(federatedPrincipals).includes(federated);
}

function conditionHolds(operator: string, actual: readonly string[] | undefined, expected: readonly string[]): boolean {
  let base = operator;
  let setQualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  for (const qualifier of ['ForAnyValue', 'ForAllValues'] as const) {
    if (base.startsWith(`${qualifier}:`)) {
      setQualifier = qualifier;
      base = base.slice(qualifier.length + 1);
    }
  }
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);

  if (base === 'Null') {
    const wantsAbsent = expected.some((value) => value.toLowerCase() === 'true');
    return wantsAbsent === (actual === undefined || actual.length === 0);
  }
  const matcher = valueMatcher(base);
  if (!matcher) return false; // an operator this evaluator does not know never grants access
  const negated = base.includes('Not');
  if (actual === undefined || actual.length === 0) {
    if (setQualifier === 'ForAllValues') return true;
    return ifExists || (negated && setQualifier === undefined);
  }
  const matchesOne = (value: string) => expected.some((pattern) => matcher(value, pattern));
  if (setQualifier === 'ForAllValues') return actual.every((value) => (negated ? !matchesOne(value) : matchesOne(value)));
  // A single-valued key, or ForAnyValue: at least one request value satisfies the operator.
  return negated ? actual.every((value) => !matchesOne(value)) : actual.some(matchesOne);
}

function valueMatcher(operator: string): ((value: string, pattern: string) => boolean) | undefined {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
      return (value, pattern) => value === pattern;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return (value, pattern) => value.toLowerCase() === pattern.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
      return (value, pattern) => globToRegExp(pattern, '').test(value);
    case 'Bool':
      return (value, pattern) => value.toLowerCase() === pattern.toLowerCase();
    case 'NumericEquals':
    case 'NumericNotEquals':
      return numeric((value, bound) => value === bound);
    case 'NumericLessThan':
      return numeric((value, bound) => value < bound);
    case 'NumericLessThanEquals':
      return numeric((value, bound) => value <= bound);
    case 'NumericGreaterThan':
      return numeric((value, bound) => value > bound);
    case 'NumericGreaterThanEquals':
      return numeric((value, bound) => value >= bound);
    default:
      return undefined;
  }
}

function numeric(compare: (value: number, bound: number) => boolean): (value: string, pattern: string) => boolean {
  return (value, pattern) => {
    const [number, bound] = [Number(value), Number(pattern)];
    return Number.isFinite(number) && Number.isFinite(bound) && compare(number, bound);
  };
}

/** Policies are few and fixed while requests are many (the S3 gateway checks each one): compile once. */
const compiledPatterns = new Map<string, RegExp>();

/** IAM wildcards: `*` any run of characters, `?` one character; everything else literal. */
function globToRegExp(pattern: string, flags: string): RegExp {
  const cacheKey = `${flags}:${pattern}`;
  let compiled = compiledPatterns.get(cacheKey);
  if (!compiled) {
    const body = [...pattern]
      .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    compiled = new RegExp(`^${body}$`, `s${flags}`);
    if (compiledPatterns.size < 10_000) compiledPatterns.set(cacheKey, compiled);
  }
  return compiled;
}

function toList(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}
