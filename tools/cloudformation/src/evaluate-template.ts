import { createConditions } from './conditions.js';
import { INTRINSICS, type IntrinsicContext } from './intrinsics.js';
import { parameterRefValue, resolveParameters } from './parameters.js';
import { createResources, type TemplateResource } from './resources.js';
import { TemplateError } from './template-error.js';
import { isRecord, recordAt } from './values.js';

export interface EvaluateTemplateOptions {
  parameters: Record<string, string>;
  accountId?: string;
  region?: string;
  stackName?: string;
}

export interface EvaluatedTemplate {
  /** Resolved parameter values (given or defaulted), after constraint checks. */
  parameters: Readonly<Record<string, string>>;
  /** Resources whose Condition holds, with unevaluated properties. */
  resources: readonly TemplateResource[];
  /** Evaluates a template fragment: intrinsic functions resolved, AWS::NoValue removed. */
  evaluate(fragment: unknown): unknown;
  /** What `Ref` returns for a resource (its physical id; the ARN for an OIDC provider). */
  ref(logicalId: string): string;
  condition(name: string): boolean;
}

const NO_VALUE = Symbol('AWS::NoValue');

/** Resolves parameters and conditions; resources and their properties are evaluated on demand. */
export function evaluateTemplate(template: Record<string, unknown>, options: EvaluateTemplateOptions): EvaluatedTemplate {
  const accountId = options.accountId ?? '000000000000';
  const stackName = options.stackName ?? 'blobferry-local';
  const parameterDeclarations = recordAt(template, 'Parameters');
  const parameters = resolveParameters(parameterDeclarations, options.parameters);
  const pseudo = pseudoParameters(accountId, options.region ?? 'us-east-1', stackName);

  const context: IntrinsicContext = {
    evaluate: (fragment) => evaluateFragment(fragment, context),
    condition: (name) => conditions.holds(name),
    ref: (name) => {
      if (name === 'AWS::NoValue') return NO_VALUE;
      if (pseudo.has(name)) return pseudo.get(name);
      const parameter = parameters[name];
      if (parameter !== undefined) return parameterRefValue(parameterDeclarations, name, parameter);
      if (resources.declares(name)) return resources.ref(name);
      throw new TemplateError(`Ref ${name}: no such parameter, pseudo parameter or resource`);
    },
    getAtt: (logicalId, attribute) => resources.getAtt(logicalId, attribute),
    mappings: recordAt(template, 'Mappings'),
  };
  const conditions = createConditions(recordAt(template, 'Conditions'), context.evaluate);
  const resources = createResources({
    declarations: recordAt(template, 'Resources'),
    conditions,
    evaluate: context.evaluate,
    accountId,
    stackName,
  });

  const created = resources.created();
  conditions.checkAll();
  return {
    parameters,
    resources: created,
    evaluate: (fragment) => {
      const value = context.evaluate(fragment);
      return value === NO_VALUE ? undefined : value;
    },
    ref: resources.ref,
    condition: conditions.holds,
  };
}

function pseudoParameters(accountId: string, region: string, stackName: string): ReadonlyMap<string, string> {
  return new Map([
    ['AWS::AccountId', accountId],
    ['AWS::Partition', 'aws'],
    ['AWS::Region', region],
    ['AWS::StackName', stackName],
    ['AWS::StackId', `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/00000000-0000-4000-8000-000000000000`],
    ['AWS::URLSuffix', 'amazonaws.com'],
  ]);
}

/** Resolves the intrinsic functions in a fragment and drops what evaluates to AWS::NoValue. */
function evaluateFragment(fragment: unknown, context: IntrinsicContext): unknown {
  if (Array.isArray(fragment)) {
    return fragment.map((item) => context.evaluate(item)).filter((item) => item !== NO_VALUE);
  }
  if (!isRecord(fragment)) return fragment;
  const keys = Object.keys(fragment);
  const [only] = keys;
  if (keys.length === 1 && only !== undefined && (only === 'Ref' || only === 'Condition' || only.startsWith('Fn::'))) {
    const intrinsic = INTRINSICS.get(only);
    if (!intrinsic) throw new TemplateError(`${only} is not supported by the local CloudFormation reader`);
    return intrinsic(fragment[only], context);
  }
  const result: Record<string, unknown> = {};
  for (const key of keys) {
    const value = context.evaluate(fragment[key]);
    if (value !== NO_VALUE) result[key] = value;
  }
  return result;
}
