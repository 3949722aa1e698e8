import { createHash } from 'node:crypto';
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

// Just enough of CloudFormation to read infra/aws-iam's template the way CloudFormation would:
// short-form tags, parameters with their constraints, pseudo parameters, conditions and the
// intrinsic functions. Resources are evaluated on demand, so properties the local STS never reads
// (bucket policies, KMS keys, ...) cannot break loading.

export class TemplateError extends Error {
  override name = 'TemplateError';
}

export interface TemplateResource {
  logicalId: string;
  type: string;
  properties: Record<string, unknown>;
}

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

/** Parses template YAML (or JSON), turning `!Sub x` into `{ "Fn::Sub": x }` and so on. */
export function parseTemplate(text: string, sourceName = 'template'): Record<string, unknown> {
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new TemplateError(`${sourceName} is not valid YAML: ${document.errors[0]?.message ?? ''}`);
  }
  const root = toJs(document.contents, document);
  if (!isRecord(root)) throw new TemplateError(`${sourceName} must be a mapping at the top level`);
  return root;
}

function toJs(node: unknown, document: Document): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toJs(node.resolve(document), document);
  let value: unknown;
  if (isScalar(node)) value = node.value;
  else if (isSeq(node)) value = node.items.map((item) => toJs(item, document));
  else if (isMap(node)) {
    const entries: Record<string, unknown> = {};
    for (const pair of node.items) {
      entries[String(isScalar(pair.key) ? pair.key.value : pair.key)] = toJs(pair.value, document);
    }
    value = entries;
  } else {
    throw new TemplateError(`unsupported YAML node ${String(node)}`);
  }
  const tag = (node as Node).tag;
  return tag?.startsWith('!') && !tag.startsWith('!!') ? shortFormToLongForm(tag.slice(1), value) : value;
}

function shortFormToLongForm(name: string, value: unknown): Record<string, unknown> {
  if (name === 'Ref' || name === 'Condition') return { [name]: value };
  // `!GetAtt Role.Arn` is the dotted short form of `Fn::GetAtt: [Role, Arn]`.
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [`Fn::${name}`]: value };
}

/** Resolves parameters and conditions; resources and their properties are evaluated on demand. */
export function evaluateTemplate(template: Record<string, unknown>, options: EvaluateTemplateOptions): EvaluatedTemplate {
  const accountId = options.accountId ?? '000000000000';
  const region = options.region ?? 'us-east-1';
  const stackName = options.stackName ?? 'blobferry-local';
  const parameterDeclarations = recordAt(template, 'Parameters');
  const parameters = resolveParameters(parameterDeclarations, options.parameters);
  const conditionDeclarations = recordAt(template, 'Conditions');
  const mappings = recordAt(template, 'Mappings');
  const declaredResources = recordAt(template, 'Resources');
  const conditionCache = new Map<string, boolean>();
  const pseudo: Record<string, string> = {
    'AWS::AccountId': accountId,
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::StackName': stackName,
    'AWS::StackId': `arn:aws:cloudformation:${region}:${accountId}:stack/${stackName}/00000000-0000-4000-8000-000000000000`,
    'AWS::URLSuffix': 'amazonaws.com',
  };

  function condition(name: string, visiting: readonly string[] = []): boolean {
    const cached = conditionCache.get(name);
    if (cached !== undefined) return cached;
    if (!(name in conditionDeclarations)) throw new TemplateError(`condition ${name} is not declared`);
    if (visiting.includes(name)) throw new TemplateError(`conditions refer to each other in a loop: ${[...visiting, name].join(' -> ')}`);
    const result = evaluate(conditionDeclarations[name], [...visiting, name]);
    if (typeof result !== 'boolean') throw new TemplateError(`condition ${name} does not evaluate to true or false`);
    conditionCache.set(name, result);
    return result;
  }

  function resourceDeclaration(logicalId: string): Record<string, unknown> {
    const declaration = declaredResources[logicalId];
    if (!isRecord(declaration)) throw new TemplateError(`resource ${logicalId} is not declared`);
    const resourceCondition = declaration['Condition'];
    if (typeof resourceCondition === 'string' && !condition(resourceCondition)) {
      throw new TemplateError(`resource ${logicalId} is not created (condition ${resourceCondition} is false) but is referenced`);
    }
    return declaration;
  }

  function ref(logicalId: string): string {
    const declaration = resourceDeclaration(logicalId);
    const properties = recordAt(declaration, 'Properties');
    switch (declaration['Type']) {
      case 'AWS::IAM::OIDCProvider':
        return oidcProviderArn(accountId, stringProperty(logicalId, 'Url', evaluate(properties['Url'])));
      case 'AWS::IAM::Role':
        return roleName(logicalId, properties);
      case 'AWS::S3::Bucket':
        return optionalString(evaluate(properties['BucketName'])) ?? `${stackName}-${logicalId.toLowerCase()}`;
      default:
        return logicalId;
    }
  }

  function roleName(logicalId: string, properties: Record<string, unknown>): string {
    // Without RoleName CloudFormation generates one from the stack and logical id.
    return optionalString(evaluate(properties['RoleName'])) ?? `${stackName}-${logicalId}`;
  }

  function getAtt(logicalId: string, attribute: string): string {
    const declaration = resourceDeclaration(logicalId);
    const properties = recordAt(declaration, 'Properties');
    const type = declaration['Type'];
    if (type === 'AWS::IAM::Role' && attribute === 'Arn') return roleArn(accountId, roleName(logicalId, properties));
    if (type === 'AWS::IAM::Role' && attribute === 'RoleId') return roleId(roleName(logicalId, properties));
    if (type === 'AWS::IAM::OIDCProvider' && attribute === 'Arn') return ref(logicalId);
    if (type === 'AWS::S3::Bucket' && attribute === 'Arn') return `arn:aws:s3:::${ref(logicalId)}`;
    throw new TemplateError(`Fn::GetAtt ${logicalId}.${attribute} (${String(type)}) is not supported locally`);
  }

  function refOrPseudo(name: string): unknown {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in pseudo) return pseudo[name];
    if (name in parameters) {
      const declaration = recordAt(parameterDeclarations, name);
      const value = parameters[name] ?? '';
      return String(declaration['Type']).startsWith('CommaDelimitedList') || String(declaration['Type']).startsWith('List<')
        ? value.split(',').map((item) => item.trim())
        : value;
    }
    if (name in declaredResources) return ref(name);
    throw new TemplateError(`Ref ${name}: no such parameter, pseudo parameter or resource`);
  }

  function sub(text: string, variables: Record<string, unknown>, visiting: readonly string[]): string {
    return text.replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      if (name in variables) return scalarText(evaluate(variables[name], visiting), `Fn::Sub variable ${name}`);
      if (!name.startsWith('AWS::') && name.includes('.')) {
        const dot = name.indexOf('.');
        return getAtt(name.slice(0, dot), name.slice(dot + 1));
      }
      return scalarText(refOrPseudo(name), `Fn::Sub \${${name}}`);
    });
  }

  function evaluate(fragment: unknown, visiting: readonly string[] = []): unknown {
    if (Array.isArray(fragment)) {
      return fragment.map((item) => evaluate(item, visiting)).filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(fragment)) return fragment;
    const keys = Object.keys(fragment);
    const [only] = keys;
    if (keys.length === 1 && only !== undefined && (only === 'Ref' || only === 'Condition' || only.startsWith('Fn::'))) {
      return intrinsic(only, fragment[only], visiting);
    }
    const result: Record<string, unknown> = {};
    for (const key of keys) {
      const value = evaluate(fragment[key], visiting);
      if (value !== NO_VALUE) result[key] = value;
    }
    return result;
  }

  function intrinsic(name: string, argument: unknown, visiting: readonly string[]): unknown {
    const args = (count: number): unknown[] => {
      if (!Array.isArray(argument) || argument.length !== count) {
        throw new TemplateError(`${name} takes a list of ${count} arguments`);
      }
      return argument;
    };
    switch (name) {
      case 'Ref':
        return refOrPseudo(String(argument));
      case 'Condition':
        return condition(String(argument), visiting);
      case 'Fn::Equals': {
        const [left, right] = args(2).map((item) => evaluate(item, visiting));
        // Refs to Number parameters are strings, so CloudFormation compares the text of scalars.
        return JSON.stringify(normaliseScalars(left)) === JSON.stringify(normaliseScalars(right));
      }
      case 'Fn::Not':
        return !booleanOf(evaluate(args(1)[0], visiting), name);
      case 'Fn::And':
      case 'Fn::Or': {
        if (!Array.isArray(argument) || argument.length < 2) throw new TemplateError(`${name} takes 2 to 10 conditions`);
        const values = argument.map((item) => booleanOf(evaluate(item, visiting), name));
        return name === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      case 'Fn::If': {
        const [conditionName, whenTrue, whenFalse] = args(3);
        return evaluate(condition(String(conditionName), visiting) ? whenTrue : whenFalse, visiting);
      }
      case 'Fn::Sub': {
        if (typeof argument === 'string') return sub(argument, {}, visiting);
        const [text, variables] = args(2);
        const resolvedText = evaluate(text, visiting);
        if (typeof resolvedText !== 'string' || !isRecord(variables)) {
          throw new TemplateError('Fn::Sub takes a string or [string, { variables }]');
        }
        return sub(resolvedText, variables, visiting);
      }
      case 'Fn::Join': {
        const [separator, items] = args(2);
        const list = evaluate(items, visiting);
        if (!Array.isArray(list)) throw new TemplateError('Fn::Join takes [separator, [values]]');
        return list.map((item) => scalarText(item, name)).join(String(separator));
      }
      case 'Fn::Select': {
        const [index, items] = args(2);
        const list = evaluate(items, visiting);
        const position = Number(evaluate(index, visiting));
        if (!Array.isArray(list) || !Number.isInteger(position) || position < 0 || position >= list.length) {
          throw new TemplateError(`Fn::Select index ${String(index)} is out of range`);
        }
        return list[position];
      }
      case 'Fn::Split': {
        const [separator, text] = args(2);
        return scalarText(evaluate(text, visiting), name).split(String(separator));
      }
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = typeof argument === 'string' ? argument.split('.', 2) : args(2);
        return getAtt(String(logicalId), scalarText(evaluate(attribute, visiting), name));
      }
      case 'Fn::FindInMap': {
        const [mapName, topKey, secondKey] = args(3).map((item) => scalarText(evaluate(item, visiting), name));
        const value = recordAt(recordAt(mappings, String(mapName)), String(topKey))[String(secondKey)];
        if (value === undefined) throw new TemplateError(`Fn::FindInMap ${mapName}.${topKey}.${secondKey} is not in Mappings`);
        return value;
      }
      case 'Fn::Base64':
        return Buffer.from(scalarText(evaluate(argument, visiting), name)).toString('base64');
      default:
        throw new TemplateError(`${name} is not supported by the local CloudFormation reader`);
    }
  }

  const resources: TemplateResource[] = [];
  for (const [logicalId, declaration] of Object.entries(declaredResources)) {
    if (!isRecord(declaration)) throw new TemplateError(`resource ${logicalId} must be a mapping`);
    const resourceCondition = declaration['Condition'];
    if (typeof resourceCondition === 'string' && !condition(resourceCondition)) continue;
    resources.push({ logicalId, type: String(declaration['Type']), properties: recordAt(declaration, 'Properties') });
  }
  // CloudFormation evaluates every condition at stack creation, so a broken one fails here too.
  for (const name of Object.keys(conditionDeclarations)) condition(name);

  return {
    parameters,
    resources,
    evaluate: (fragment) => {
      const value = evaluate(fragment);
      return value === NO_VALUE ? undefined : value;
    },
    ref, condition: (name) => condition(name) };
}

/** Checks given values against the declarations (as CloudFormation does before creating anything). */
function resolveParameters(declarations: Record<string, unknown>, given: Record<string, string>): Record<string, string> {
  for (const name of Object.keys(given)) {
    if (!(name in declarations)) {
      throw new TemplateError(`parameter ${name} is not declared in the template (declared: ${Object.keys(declarations).join(', ')})`);
    }
  }
  const resolved: Record<string, string> = {};
  for (const [name, rawDeclaration] of Object.entries(declarations)) {
    const declaration = isRecord(rawDeclaration) ? rawDeclaration : {};
    const value = given[name] ?? (declaration['Default'] === undefined ? undefined : String(declaration['Default']));
    if (value === undefined) throw new TemplateError(`parameter ${name} has no Default: pass a value for it`);
    const problem = parameterProblem(declaration, value);
    if (problem) {
      const hint = typeof declaration['ConstraintDescription'] === 'string' ? ` (${declaration['ConstraintDescription']})` : '';
      throw new TemplateError(`parameter ${name}=${JSON.stringify(value)} ${problem}${hint}`);
    }
    resolved[name] = value;
  }
  return resolved;
}

function parameterProblem(declaration: Record<string, unknown>, value: string): string | undefined {
  const allowedValues = declaration['AllowedValues'];
  if (Array.isArray(allowedValues) && !allowedValues.map(String).includes(value)) {
    return `is not one of the AllowedValues ${JSON.stringify(allowedValues.map(String))}`;
  }
  if (declaration['Type'] === 'Number') {
    const number = Number(value);
    if (value.trim() === '' || !Number.isFinite(number)) return 'is not a number';
    if (declaration['MinValue'] !== undefined && number < Number(declaration['MinValue'])) return `is below MinValue ${String(declaration['MinValue'])}`;
    if (declaration['MaxValue'] !== undefined && number > Number(declaration['MaxValue'])) return `is above MaxValue ${String(declaration['MaxValue'])}`;
    return undefined;
  }
  const pattern = declaration['AllowedPattern'];
  // CloudFormation matches AllowedPattern against the whole value.
  if (typeof pattern === 'string' && !new RegExp(`^(?:${pattern})$`).test(value)) return `does not match AllowedPattern ${pattern}`;
  if (declaration['MinLength'] !== undefined && value.length < Number(declaration['MinLength'])) return `is shorter than MinLength ${String(declaration['MinLength'])}`;
  if (declaration['MaxLength'] !== undefined && value.length > Number(declaration['MaxLength'])) return `is longer than MaxLength ${String(declaration['MaxLength'])}`;
  return undefined;
}

export function oidcProviderArn(accountId: string, url: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${url.replace(/^https:\/\//, '')}`;
}

export function roleArn(accountId: string, name: string): string {
  return `arn:aws:iam::${accountId}:role/${name}`;
}

/** A stable, AWS-shaped unique id (AROA + 17 characters) for a role name. */
export function roleId(name: string): string {
  const digest = createHash('sha256').update(name).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let id = 'AROA';
  for (let i = 0; i < 17; i += 1) id += alphabet[(digest[i] ?? 0) % alphabet.length];
  return id;
}

function normaliseScalars(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseScalars);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

function booleanOf(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new TemplateError(`${where} expects conditions, got ${JSON.stringify(value)}`);
  return value;
}

function scalarText(value: unknown, where: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(`${where} needs a string, got ${JSON.stringify(value)}`);
}

function stringProperty(logicalId: string, property: string, value: unknown): string {
  if (typeof value !== 'string') throw new TemplateError(`${logicalId}.${property} must be a string`);
  return value;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function recordAt(container: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = container[key];
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new TemplateError(`${key} must be a mapping`);
  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
