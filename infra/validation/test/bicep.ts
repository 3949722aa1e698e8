// Typed access to the Bicep files as checkov's parser (pycep-parser) reads them. The trees come
// from parse-bicep.setup.ts, which parses every file once per test run.
import { inject } from 'vitest';

/**
 * A Bicep expression in pycep's tree: a literal (a string as written between its quotes, escapes and
 * `${}` kept), an array, an object literal, or a node: `{ identifier }`, `{ operator }`, `{ function }`
 * or a `for` loop (`{ loop_type, condition, config }`). bicepText renders one as Bicep.
 */
export type BicepValue = string | number | boolean | null | BicepValue[] | BicepObject;
export interface BicepObject {
  [key: string]: BicepValue;
}

export interface BicepParam {
  name: string;
  /** The declared type: string, int, bool, object, array. */
  type: string;
  /** The default value; undefined for a parameter the deployment must give (pycep also writes `= null` so). */
  default: BicepValue | undefined;
  /** The `@allowed([...])` values, or undefined. */
  allowed: BicepValue[] | undefined;
  description: string | undefined;
  /** Every decorator's argument by pycep's name for it: description, allowed, min_length, max_length, min_value, max_value. */
  decorators: Map<string, BicepValue>;
}

/** What `resource` and `module` declarations share. */
interface BicepDeclaration {
  /** The symbolic name. */
  name: string;
  /** The `if (...)` condition, or undefined for an unconditional declaration. */
  condition: BicepValue | undefined;
  /** The loop header (`for (item, i) in array`) of a `[for ...]` declaration, or undefined. */
  loop: string | undefined;
  /** The body (for a loop, its body): name, scope, parent, properties, params, dependsOn, ... */
  body: BicepObject;
}

export interface BicepResource extends BicepDeclaration {
  /** The resource type without its API version, e.g. Microsoft.Storage/storageAccounts. */
  type: string;
  apiVersion: string;
  /** Declared `existing`: a reference, not a resource this deployment creates. */
  existing: boolean;
  /** The body's `properties`, or {} when it has none. */
  properties: BicepObject;
}

export interface BicepModule extends BicepDeclaration {
  /** The module's path as written, relative to the declaring file. */
  path: string;
  /** The body's `params`, or {} when it has none. */
  params: BicepObject;
}

export interface BicepOutput {
  name: string;
  type: string;
  value: BicepValue;
}

export interface BicepTemplate {
  /** The file's path under infra/bicep, e.g. modules/host-roles.bicep. */
  file: string;
  params: Map<string, BicepParam>;
  vars: Map<string, BicepValue>;
  resources: Map<string, BicepResource>;
  modules: Map<string, BicepModule>;
  outputs: Map<string, BicepOutput>;
}

interface PycepDecorator {
  type: string;
  argument?: BicepValue;
}
interface PycepDeclaration {
  decorators: PycepDecorator[];
  type: string;
  api_version: string;
  existing: boolean;
  detail: { path: string };
  config: BicepObject;
}
interface PycepFile {
  parameters?: Record<string, { decorators: PycepDecorator[]; type: string; default: BicepValue }>;
  variables?: Record<string, { value: BicepValue }>;
  resources?: Record<string, PycepDeclaration>;
  modules?: Record<string, PycepDeclaration>;
  outputs?: Record<string, { type: string; value: BicepValue }>;
}

const templates = new Map<string, BicepTemplate>();

/** The parsed file at `file`, a path under infra/bicep (main.bicep, modules/alerts.bicep). */
export function bicepTemplate(file: string): BicepTemplate {
  const cached = templates.get(file);
  if (cached) return cached;
  const parsed = inject('parsedBicep');
  if ('error' in parsed) {
    const error = new Error(parsed.error);
    error.stack = `Error: ${parsed.error}`; // where it is thrown says nothing; the message says what to do
    throw error;
  }
  const tree = parsed.trees[file] as PycepFile | undefined;
  if (!tree) throw new Error(`${file} is not among the parsed Bicep files: ${Object.keys(parsed.trees).join(', ')}`);
  const template: BicepTemplate = {
    file,
    params: mapEntries(tree.parameters, (name, param) => {
      const decorators = new Map(param.decorators.map((decorator) => [decorator.type, decorator.argument ?? null]));
      const allowed = decorators.get('allowed');
      const description = decorators.get('description');
      return {
        name,
        type: param.type,
        default: param.default ?? undefined,
        allowed: Array.isArray(allowed) ? allowed : undefined,
        description: typeof description === 'string' ? description : undefined,
        decorators,
      };
    }),
    vars: mapEntries(tree.variables, (_name, variable) => variable.value),
    resources: mapEntries(tree.resources, (name, resource) => {
      const declaration = declarationOf(name, resource.config);
      return {
        ...declaration,
        type: resource.type,
        apiVersion: resource.api_version,
        existing: resource.existing,
        properties: objectOrEmpty(declaration.body['properties']),
      };
    }),
    modules: mapEntries(tree.modules, (name, module) => {
      const declaration = declarationOf(name, module.config);
      return { ...declaration, path: module.detail.path, params: objectOrEmpty(declaration.body['params']) };
    }),
    outputs: mapEntries(tree.outputs, (name, output) => ({ name, type: output.type, value: output.value })),
  };
  templates.set(file, template);
  return template;
}

function mapEntries<T, R>(record: Record<string, T> | undefined, convert: (name: string, value: T) => R): Map<string, R> {
  return new Map(Object.entries(record ?? {}).map(([name, value]) => [name, convert(name, value)]));
}

/** pycep wraps a body in `{ condition, config }` for `= if (...)` and in `{ loop_type, condition, config }` for `[for ...]`. */
function declarationOf(name: string, config: BicepObject): BicepDeclaration {
  if ('loop_type' in config) return { name, condition: undefined, loop: loopHeader(config), body: objectOrEmpty(config['config']) };
  const keys = Object.keys(config);
  if (keys.length === 2 && keys.includes('condition') && keys.includes('config')) {
    return { name, condition: config['condition'] ?? undefined, loop: undefined, body: objectOrEmpty(config['config']) };
  }
  return { name, condition: undefined, loop: undefined, body: config };
}

function isObject(value: BicepValue | undefined): value is BicepObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at a path of object keys and array indexes, or undefined where the path leads nowhere. */
export function valueAt(value: BicepValue | undefined, ...path: (string | number)[]): BicepValue | undefined {
  let current = value;
  for (const step of path) {
    if (typeof step === 'number') current = Array.isArray(current) ? current[step] : undefined;
    else current = isObject(current) && !nodeOf(current) ? current[step] : undefined;
  }
  return current;
}

function objectOrEmpty(value: BicepValue | undefined): BicepObject {
  return isObject(value) ? value : {};
}

/** The node a value is, if it is one: pycep writes each as an object with one known key. */
function nodeOf(value: BicepValue | undefined) {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  const inner = value[keys[0] ?? ''];
  if (keys.length === 1 && keys[0] === 'identifier' && typeof inner === 'string') return { kind: 'identifier', name: inner } as const;
  if (keys.length === 1 && keys[0] === 'operator' && isObject(inner) && isObject(inner['operands'])) {
    return { kind: 'operator', type: String(inner['type']), operands: inner['operands'] } as const;
  }
  if (keys.length === 1 && keys[0] === 'function' && isObject(inner)) {
    const property = inner['property_name'];
    return { kind: 'function', type: String(inner['type']), parameters: objectOrEmpty(inner['parameters']), property } as const;
  }
  if ('loop_type' in value && 'config' in value) return { kind: 'loop', loop: value, body: value['config'] } as const;
  return undefined;
}

/** The identifier a value is, or undefined. */
export function identifierName(value: BicepValue | undefined): string | undefined {
  const node = nodeOf(value);
  return node?.kind === 'identifier' ? node.name : undefined;
}

/** The symbol an accessor chain starts from: `containers` for `containers[i]`, `hostStorage` for `hostStorage.outputs.id`. */
export function rootIdentifier(value: BicepValue | undefined): string | undefined {
  const node = nodeOf(value);
  if (node?.kind === 'identifier') return node.name;
  if (node?.kind === 'operator' && (node.type === 'property_accessor' || node.type === 'index_accessor'))
    return rootIdentifier(node.operands['operand_1']);
  return undefined;
}

function loopHeader(loop: BicepObject): string {
  const loopType = objectOrEmpty(loop['loop_type']);
  const detail = objectOrEmpty(loopType['detail']);
  // pycep writes the array of a `(item, index)` loop, and the object of `items()`, as a bare name.
  const array = typeof detail['array_name'] === 'string' ? detail['array_name'] : bicepText(detail['array_name']);
  const filter = loop['condition'] === null || loop['condition'] === undefined ? '' : ` if (${bicepText(loop['condition'])})`;
  if (loopType['type'] === 'array') return `for ${String(detail['item_name'])} in ${array}${filter}`;
  if (loopType['type'] === 'array_index')
    return `for (${String(detail['item_name'])}, ${String(detail['index_name'])}) in ${array}${filter}`;
  if (loopType['type'] === 'object') return `for ${String(detail['item_name'])} in items(${String(detail['object_name'])})${filter}`;
  throw new Error(`bicepText does not render a ${String(loopType['type'])} loop`);
}

const BINARY_OPERATORS: Record<string, string> = { equals: '==', not_equals: '!=', and: '&&', or: '||' };

/**
 * A parsed expression written back as Bicep, in one canonical form (`'literal'`, `a.b[c]`,
 * `{ key: value }`, `[a, b]`, `c ? a : b`, `f(x).property`), for assertions that read like the source.
 * Renders the node kinds these files use; any other throws, naming it.
 */
export function bicepText(value: BicepValue | undefined): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(bicepText).join(', ')}]`;
  const node = nodeOf(value);
  if (!node) {
    const entries = Object.entries(value).map(([key, entry]) => `${/^[A-Za-z_]\w*$/.test(key) ? key : `'${key}'`}: ${bicepText(entry)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  switch (node.kind) {
    case 'identifier':
      return node.name;
    case 'loop':
      return `[${loopHeader(node.loop)}: ${bicepText(node.body)}]`;
    case 'function': {
      // pycep names each argument and writes an argument not given as null.
      const args = Object.values(node.parameters).filter((arg) => arg !== null);
      const name = node.type.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
      if (node.property !== undefined && !(typeof node.property === 'string' && /^\w+$/.test(node.property))) {
        throw new Error(`bicepText does not render ${name}()'s property ${JSON.stringify(node.property)}`);
      }
      return `${name}(${args.map(bicepText).join(', ')})${node.property === undefined ? '' : `.${node.property}`}`;
    }
    case 'operator':
      return operatorText(node.type, node.operands);
  }
}

function operatorText(type: string, operands: BicepObject): string {
  const operand = (name: string) => operandText(operands[name]);
  const binary = BINARY_OPERATORS[type];
  if (binary) return `${operand('operand_1')} ${binary} ${operand('operand_2')}`;
  switch (type) {
    case 'conditional':
      return `${operand('condition')} ? ${operand('true_value')} : ${operand('false_value')}`;
    case 'not':
      return `!${operand('bool_value')}`;
    case 'minus':
      return `-${operand('integer_value')}`;
    case 'property_accessor':
      return `${operand('operand_1')}.${operand('operand_2')}`;
    case 'index_accessor':
      return `${operand('operand_1')}[${bicepText(operands['operand_2'])}]`;
    default:
      throw new Error(`bicepText does not render the ${type} operator`);
  }
}

/** An operand, in parentheses when it is itself a conditional or a comparison, so that the text shows how pycep grouped it. */
function operandText(value: BicepValue | undefined): string {
  const node = nodeOf(value);
  const grouped = node?.kind === 'operator' && (node.type === 'conditional' || node.type in BINARY_OPERATORS);
  return grouped ? `(${bicepText(value)})` : bicepText(value);
}

/** Every string literal in a template: parameter defaults and decorators, variables, resources, modules, outputs. */
export function stringLiterals(template: BicepTemplate): string[] {
  const values: BicepValue[] = [
    ...[...template.params.values()].flatMap((param) => [param.default ?? null, ...param.decorators.values()]),
    ...template.vars.values(),
    ...[...template.resources.values()].flatMap((resource) => [resource.condition ?? null, resource.body]),
    ...[...template.modules.values()].flatMap((module) => [module.condition ?? null, module.body]),
    ...[...template.outputs.values()].map((output) => output.value),
  ];
  return values.flatMap(literalsIn);
}

function literalsIn(value: BicepValue): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(literalsIn);
  const node = nodeOf(value);
  if (!node) return isObject(value) ? Object.values(value).flatMap(literalsIn) : [];
  switch (node.kind) {
    case 'identifier':
      return [];
    case 'loop':
      return literalsIn(node.body);
    case 'function':
      return Object.values(node.parameters).flatMap(literalsIn);
    case 'operator':
      return Object.values(node.operands).flatMap(literalsIn);
  }
}

/** The keys of every object literal in `value`, nested ones included. */
export function objectKeysDeep(value: BicepValue | undefined): string[] {
  if (Array.isArray(value)) return value.flatMap(objectKeysDeep);
  if (!isObject(value)) return [];
  const node = nodeOf(value);
  if (node?.kind === 'identifier') return [];
  const own = node ? [] : Object.keys(value);
  return [...own, ...Object.values(value).flatMap(objectKeysDeep)];
}

/**
 * The entries of the object literals a variable holds: `{ A: x }`, or either branch of
 * `cond ? { A: x } : {}` (how an optional app setting is written).
 */
export function objectVarEntries(template: BicepTemplate, name: string): [string, BicepValue][] {
  const value = template.vars.get(name);
  if (value === undefined) throw new Error(`var ${name} not found in ${template.file}`);
  return objectLiteralEntries(value);
}

function objectLiteralEntries(value: BicepValue): [string, BicepValue][] {
  const node = nodeOf(value);
  if (node?.kind === 'operator' && node.type === 'conditional') {
    return [...objectLiteralEntries(node.operands['true_value'] ?? null), ...objectLiteralEntries(node.operands['false_value'] ?? null)];
  }
  if (!isObject(value) || node) throw new Error(`not an object literal: ${bicepText(value)}`);
  return Object.entries(value);
}

/** The arguments of a call to `functionName` (pycep's snake_case name, e.g. union), in order; undefined for anything else. */
export function functionArguments(value: BicepValue | undefined, functionName: string): BicepValue[] | undefined {
  const node = nodeOf(value);
  return node?.kind === 'function' && node.type === functionName ? Object.values(node.parameters).filter((arg) => arg !== null) : undefined;
}

export interface BicepRoleAssignment {
  /** The assignment's symbolic name. */
  resource: string;
  principalId: string;
  principalType: string;
  /**
   * The role: for `subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleVar)` with
   * `var roleVar = '<id>'` the id itself, otherwise the expression as written.
   */
  role: string;
  scope: string;
  /** The resource the scope names (for `containers[i]`, the containers declaration). */
  scopeResource: BicepResource | undefined;
  condition: string | undefined;
}

/** The role assignments a template declares, with their principal, role and scope. */
export function roleAssignments(template: BicepTemplate): BicepRoleAssignment[] {
  return [...template.resources.values()]
    .filter((resource) => resource.type === 'Microsoft.Authorization/roleAssignments')
    .map((resource) => ({
      resource: resource.name,
      principalId: bicepText(resource.properties['principalId']),
      principalType: bicepText(resource.properties['principalType']),
      role: roleId(template, resource.properties['roleDefinitionId']),
      scope: bicepText(resource.body['scope']),
      scopeResource: template.resources.get(rootIdentifier(resource.body['scope']) ?? ''),
      condition: resource.condition === undefined ? undefined : bicepText(resource.condition),
    }));
}

function roleId(template: BicepTemplate, roleDefinitionId: BicepValue | undefined): string {
  const [resourceType, roleVar] = functionArguments(roleDefinitionId, 'subscription_resource_id') ?? [];
  const id = resourceType === 'Microsoft.Authorization/roleDefinitions' ? template.vars.get(identifierName(roleVar) ?? '') : undefined;
  return typeof id === 'string' ? id : bicepText(roleDefinitionId);
}
