import { yamlParse } from 'yaml-cfn';
import { TemplateError } from './template-error.js';
import { isRecord } from './values.js';

/** Parses template YAML (or JSON), turning `!Sub x` into `{ "Fn::Sub": x }` and so on. */
export function parseTemplate(text: string, sourceName = 'template'): Record<string, unknown> {
  let root: unknown;
  try {
    root = yamlParse(text);
  } catch (error) {
    throw new TemplateError(`${sourceName} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  if (!isRecord(root)) throw new TemplateError(`${sourceName} must be a mapping at the top level`);
  return root;
}
