// Vitest global setup: parses every .bicep file under infra/bicep once per test run, with checkov's
// Bicep parser (scripts/bicep-to-json.py in .tools/infra-venv), and hands the trees to the test
// files (bicep.ts reads them). A missing parser is no reason to skip: the test files that read
// Bicep fail with the message, which names the command that installs it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { bicepFiles, workspaceRoot } from './sources.js';

/** What the setup hands over: pycep's tree of each file (keyed by its path under infra/bicep), or why there is none. */
export type ParsedBicep = { trees: Record<string, unknown> } | { error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    parsedBicep: ParsedBicep;
  }
}

const python = join(workspaceRoot, '.tools/infra-venv/bin/python');
const script = join(workspaceRoot, 'infra/validation/scripts/bicep-to-json.py');

function parseBicep(): ParsedBicep {
  if (!existsSync(python)) {
    return {
      error:
        "The infra tests read Bicep with checkov's parser (pycep-parser) from .tools/infra-venv, which is missing; install it with: bash .ci/infra-tools.sh",
    };
  }
  const run = spawnSync(python, [script, ...bicepFiles], {
    cwd: join(workspaceRoot, 'infra/bicep'),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error || run.status !== 0) {
    return {
      error: `checkov's Bicep parser (scripts/bicep-to-json.py) failed, ${run.error?.message ?? `exit ${run.status}`}: ${(run.stderr ?? '').trim()}`,
    };
  }
  return { trees: JSON.parse(run.stdout) as Record<string, unknown> };
}

export default function provideParsedBicep(project: TestProject): void {
  project.provide('parsedBicep', parseBicep());
}
