// IAM policy evaluation for a role trust policy, limited to what AssumeRoleWithWebIdentity needs:
// Federated principals, Action/NotAction, and the string condition operators (with IfExists and
// the ForAnyValue/ForAllValues set qualifiers). An explicit Deny wins; nothing allowed means denied.

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: '*' | Record<string, string | string[]>;
  NotPrincipal?: unknown;
  Action?: string | string[];
  NotAction?: string | string[];
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

export type TrustDecision = { allowed: true; statement: string } | { allowed: false; reason: string };

export function evaluateTrustPolicy(policy: PolicyDocument, request: TrustRequest): TrustDecision {
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  const context = new Map(Object.entries(request.context).map(([key, value]) => [key.toLowerCase(), toList(value)]));
  let allowedBy: string | undefined;
  for (const [index, statement] of statements.entries()) {
    if (!statementApplies(statement, request, context)) continue;
    const name = statement.Sid ?? `Statement[${index}]`;
    if (statement.Effect === 'Deny') return { allowed: false, reason: `explicitly denied by ${name}` };
    if (statement.Effect === 'Allow') allowedBy ??= name;
  }
  return allowedBy ? { allowed: true, statement: allowedBy } : { allowed: false, reason: 'no statement allows this request' };
}

function statementApplies(
  statement: PolicyStatement,
  request: TrustRequest,
  context: Map<string, readonly string[]>,
): boolean {
  if (statement.NotPrincipal !== undefined) return false;
  if (!principalMatches(statement.Principal, request.federatedPrincipal)) return false;
  if (statement.Action !== undefined && !toList(statement.Action).some((pattern) => actionMatches(pattern, request.action))) {
    return false;
  }
  if (statement.NotAction !== undefined && toList(statement.NotAction).some((pattern) => actionMatches(pattern, request.action))) {
    return false;
  }
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

function actionMatches(pattern: string, action: string): boolean {
  return globToRegExp(pattern, 'i').test(action);
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
    default:
      return undefined;
  }
}

/** IAM wildcards: `*` any run of characters, `?` one character; everything else literal. */
function globToRegExp(pattern: string, flags: string): RegExp {
  const body = [...pattern]
    .map((char) => (char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, `s${flags}`);
}

function toList(value: string | readonly string[]): readonly string[] {
  return typeof value === 'string' ? [value] : value;
}
