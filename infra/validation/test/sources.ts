import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const workspaceRoot = resolve(import.meta.dirname, '../../..');

/** The Bicep files, as paths under infra/bicep: main.bicep and its modules. */
export const bicepFiles = [
  'main.bicep',
  ...readdirSync(join(workspaceRoot, 'infra/bicep/modules'))
    .filter((name) => name.endsWith('.bicep'))
    .map((name) => `modules/${name}`),
];

export function readWorkspaceFile(...segments: string[]): string {
  return readFileSync(join(workspaceRoot, ...segments), 'utf8');
}

/** The `{ ... }` block that follows `marker` in Bicep source, braces balanced. */
export function bicepBlockAfter(source: string, marker: string): string {
  const start = source.indexOf(marker);
  if (start < 0) throw new Error(`"${marker}" not found`);
  const open = source.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < source.length; i += 1) {
    if (source[i] === '{') depth += 1;
    else if (source[i] === '}') {
      depth -= 1;
      if (depth === 0) return source.slice(open, i + 1);
    }
  }
  throw new Error(`unbalanced braces after "${marker}"`);
}

export interface BicepParam {
  name: string;
  type: string;
  hasDefault: boolean;
  allowed: string[] | undefined;
}

/** Top-level `param` declarations of a Bicep file, with their @allowed lists. */
export function bicepParams(source: string): Map<string, BicepParam> {
  const params = new Map<string, BicepParam>();
  const lines = source.split('\n');
  lines.forEach((line, index) => {
    const match = /^param (\w+) (\w+)( =)?/.exec(line);
    if (!match) return;
    let allowed: string[] | undefined;
    for (let i = index - 1; i >= 0 && lines[i]?.startsWith('@'); i -= 1) {
      const allowedMatch = /^@allowed\(\[(.*)\]\)/.exec(lines[i] ?? '');
      if (allowedMatch) allowed = [...(allowedMatch[1] ?? '').matchAll(/'([^']*)'|(\d+)/g)].map((m) => m[1] ?? m[2] ?? '');
    }
    params.set(match[1] ?? '', { name: match[1] ?? '', type: match[2] ?? '', hasDefault: match[3] !== undefined, allowed });
  });
  return params;
}

/** Names of top-level `output` declarations of a Bicep file. */
export function bicepOutputs(source: string): string[] {
  return [...source.matchAll(/^output (\w+) /gm)].map((match) => match[1] ?? '');
}

/** Keys of the object literals assigned to the given `var`s (`var x = { A: ..., B: ... }` or `cond ? { ... } : {}`). */
export function bicepObjectVarKeys(source: string, names: string[]): string[] {
  return names.flatMap((name) => {
    const start = source.search(new RegExp(`^var ${name} = `, 'm'));
    if (start < 0) throw new Error(`var ${name} not found`);
    const line = source.slice(start, source.indexOf('\n', start));
    const body = line.trimEnd().endsWith('{') ? bicepBlockAfter(source.slice(start), '=') : line;
    return [...body.matchAll(/(?:^|[{\s,])([A-Za-z][A-Za-z0-9_]*): /g)].map((match) => match[1] ?? '');
  });
}

