import { TemplateError } from './template-error.js';
import { isRecord, recordAt, scalarText } from './values.js';

/** What an intrinsic function may ask of the template it is evaluated in. */
export interface IntrinsicContext {
  evaluate(fragment: unknown): unknown;
  condition(name: string): boolean;
  /** What `Ref name` returns: AWS::NoValue, a pseudo parameter, a parameter or a resource. */
  ref(name: string): unknown;
  getAtt(logicalId: string, attribute: string): string;
  mappings: Record<string, unknown>;
}

type Intrinsic = (argument: unknown, context: IntrinsicContext) => unknown;

/** The functions CloudFormation evaluates, by the key of their long form. */
export const INTRINSICS = new Map<string, Intrinsic>([
  ['Ref', (argument, context) => context.ref(String(argument))],
  ['Condition', (argument, context) => context.condition(String(argument))],
  ['Fn::Equals', equals],
  ['Fn::Not', (argument, context) => !booleanOf(context.evaluate(argumentList('Fn::Not', argument, 1)[0]), 'Fn::Not')],
  ['Fn::And', (argument, context) => conditionValues('Fn::And', argument, context).every(Boolean)],
  ['Fn::Or', (argument, context) => conditionValues('Fn::Or', argument, context).some(Boolean)],
  ['Fn::If', ifThenElse],
  ['Fn::Sub', sub],
  ['Fn::Join', join],
  ['Fn::Select', select],
  ['Fn::Split', split],
  ['Fn::GetAtt', getAtt],
  ['Fn::FindInMap', findInMap],
  ['Fn::Base64', (argument, context) => Buffer.from(scalarText(context.evaluate(argument), 'Fn::Base64')).toString('base64')],
]);

function equals(argument: unknown, context: IntrinsicContext): boolean {
  const [left, right] = argumentList('Fn::Equals', argument, 2).map((item) => context.evaluate(item));
  // Refs to Number parameters are strings, so CloudFormation compares the text of scalars.
  return JSON.stringify(normaliseScalars(left)) === JSON.stringify(normaliseScalars(right));
}

function conditionValues(name: string, argument: unknown, context: IntrinsicContext): boolean[] {
  if (!Array.isArray(argument) || argument.length < 2) throw new TemplateError(`${name} takes 2 to 10 conditions`);
  return argument.map((item) => booleanOf(context.evaluate(item), name));
}

function ifThenElse(argument: unknown, context: IntrinsicContext): unknown {
  const [conditionName, whenTrue, whenFalse] = argumentList('Fn::If', argument, 3);
  return context.evaluate(context.condition(String(conditionName)) ? whenTrue : whenFalse);
}

function sub(argument: unknown, context: IntrinsicContext): string {
  if (typeof argument === 'string') return substitute(argument, {}, context);
  const [text, variables] = argumentList('Fn::Sub', argument, 2);
  const resolvedText = context.evaluate(text);
  if (typeof resolvedText !== 'string' || !isRecord(variables)) {
    throw new TemplateError('Fn::Sub takes a string or [string, { variables }]');
  }
  return substitute(resolvedText, variables, context);
}

/** Fills `${Name}`, `${Resource.Attribute}` and `${Variable}`; `${!Literal}` stays `${Literal}`. */
function substitute(text: string, variables: Record<string, unknown>, context: IntrinsicContext): string {
  return text.replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
    if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
    const name = inner.trim();
    if (name in variables) return scalarText(context.evaluate(variables[name]), `Fn::Sub variable ${name}`);
    if (!name.startsWith('AWS::') && name.includes('.')) {
      const dot = name.indexOf('.');
      return context.getAtt(name.slice(0, dot), name.slice(dot + 1));
    }
    return scalarText(context.ref(name), `Fn::Sub \${${name}}`);
  });
}

function join(argument: unknown, context: IntrinsicContext): string {
  const [separator, items] = argumentList('Fn::Join', argument, 2);
  const list = context.evaluate(items);
  if (!Array.isArray(list)) throw new TemplateError('Fn::Join takes [separator, [values]]');
  return list.map((item) => scalarText(item, 'Fn::Join')).join(String(separator));
}

function select(argument: unknown, context: IntrinsicContext): unknown {
  const [index, items] = argumentList('Fn::Select', argument, 2);
  const list = context.evaluate(items);
  const position = Number(context.evaluate(index));
  if (!Array.isArray(list) || !Number.isInteger(position) || position < 0 || position >= list.length) {
    throw new TemplateError(`Fn::Select index ${String(index)} is out of range`);
  }
  return list[position];
}

function split(argument: unknown, context: IntrinsicContext): string[] {
  const [separator, text] = argumentList('Fn::Split', argument, 2);
  return scalarText(context.evaluate(text), 'Fn::Split').split(String(separator));
}

function getAtt(argument: unknown, context: IntrinsicContext): string {
  const [logicalId, attribute] = typeof argument === 'string' ? argument.split('.', 2) : argumentList('Fn::GetAtt', argument, 2);
  return context.getAtt(String(logicalId), scalarText(context.evaluate(attribute), 'Fn::GetAtt'));
}

function findInMap(argument: unknown, context: IntrinsicContext): unknown {
  const [mapName, topKey, secondKey] = argumentList('Fn::FindInMap', argument, 3).map((item) =>
    scalarText(context.evaluate(item), 'Fn::FindInMap'),
  );
  const value = recordAt(recordAt(context.mappings, String(mapName)), String(topKey))[String(secondKey)];
  if (value === undefined) throw new TemplateError(`Fn::FindInMap ${mapName}.${topKey}.${secondKey} is not in Mappings`);
  return value;
}

function argumentList(name: string, argument: unknown, count: number): unknown[] {
  if (!Array.isArray(argument) || argument.length !== count) throw new TemplateError(`${name} takes a list of ${count} arguments`);
  return argument;
}

function normaliseScalars(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normaliseScalars);
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}

function booleanOf(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new TemplateError(`${where} expects conditions, got ${JSON.stringify(value)}`);
  return value;
}
