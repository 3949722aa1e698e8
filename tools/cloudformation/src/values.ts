import { TemplateError } from './template-error.js';

// Shapes of template values, shared by the modules that read a template.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The mapping under `key`; an absent section reads as empty. */
export function recordAt(container: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = container[key];
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new TemplateError(`${key} must be a mapping`);
  return value;
}

export function scalarText(value: unknown, where: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(`${where} needs a string, got ${JSON.stringify(value)}`);
}
