import { TemplateError } from './template-error.js';

export interface Conditions {
  /** Whether the named condition holds; each is evaluated once. */
  holds(name: string): boolean;
  /** Evaluates every declared condition, as CloudFormation does at stack creation. */
  checkAll(): void;
}

export function createConditions(declarations: Record<string, unknown>, evaluate: (fragment: unknown) => unknown): Conditions {
  const results = new Map<string, boolean>();
  // The conditions being evaluated, outermost first: one that comes back to itself is a loop.
  const inProgress: string[] = [];

  function holds(name: string): boolean {
    const known = results.get(name);
    if (known !== undefined) return known;
    if (!(name in declarations)) throw new TemplateError(`condition ${name} is not declared`);
    if (inProgress.includes(name))
      throw new TemplateError(`conditions refer to each other in a loop: ${[...inProgress, name].join(' -> ')}`);
    inProgress.push(name);
    let result: unknown;
    try {
      result = evaluate(declarations[name]);
    } finally {
      inProgress.pop();
    }
    if (typeof result !== 'boolean') throw new TemplateError(`condition ${name} does not evaluate to true or false`);
    results.set(name, result);
    return result;
  }

  return {
    holds,
    checkAll: () => {
      for (const name of Object.keys(declarations)) holds(name);
    },
  };
}
