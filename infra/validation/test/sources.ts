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
