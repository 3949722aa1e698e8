import { TemplateError } from './template-error.js';
import { isRecord, recordAt } from './values.js';

/** Checks given values against the declarations (as CloudFormation does before creating anything). */
export function resolveParameters(declarations: Record<string, unknown>, given: Record<string, string>): Record<string, string> {
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

/** What `Ref` returns for a parameter: its text, or a list for the list types. */
export function parameterRefValue(declarations: Record<string, unknown>, name: string, value: string): string | string[] {
  const type = String(recordAt(declarations, name)['Type']);
  return type.startsWith('CommaDelimitedList') || type.startsWith('List<') ? value.split(',').map((item) => item.trim()) : value;
}

function parameterProblem(declaration: Record<string, unknown>, value: string): string | undefined {
  const allowedValues = declaration['AllowedValues'];
  if (Array.isArray(allowedValues) && !allowedValues.map(String).includes(value)) {
    return `is not one of the AllowedValues ${JSON.stringify(allowedValues.map(String))}`;
  }
  return declaration['Type'] === 'Number' ? numberProblem(declaration, value) : textProblem(declaration, value);
}

function numberProblem(declaration: Record<string, unknown>, value: string): string | undefined {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) return 'is not a number';
  if (declaration['MinValue'] !== undefined && number < Number(declaration['MinValue']))
    return `is below MinValue ${String(declaration['MinValue'])}`;
  if (declaration['MaxValue'] !== undefined && number > Number(declaration['MaxValue']))
    return `is above MaxValue ${String(declaration['MaxValue'])}`;
  return undefined;
}

function textProblem(declaration: Record<string, unknown>, value: string): string | undefined {
  const pattern = declaration['AllowedPattern'];
  // CloudFormation matches AllowedPattern against the whole value.
  if (typeof pattern === 'string' && !new RegExp(`^(?:${pattern})$`).test(value)) return `does not match AllowedPattern ${pattern}`;
  if (declaration['MinLength'] !== undefined && value.length < Number(declaration['MinLength']))
    return `is shorter than MinLength ${String(declaration['MinLength'])}`;
  if (declaration['MaxLength'] !== undefined && value.length > Number(declaration['MaxLength']))
    return `is longer than MaxLength ${String(declaration['MaxLength'])}`;
  return undefined;
}
