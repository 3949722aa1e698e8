import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const workspaceRoot = resolve(import.meta.dirname, '../../..');

async function lintAs(filePath: string, code: string) {
  const eslint = new ESLint({ cwd: workspaceRoot });
  const [result] = await eslint.lintText(code, { filePath: join(workspaceRoot, filePath) });
  return (result?.messages ?? []).filter((m) => m.ruleId === '@nx/enforce-module-boundaries');
}

describe('module boundaries', () => {
  it('refuses a lib importing an app', async () => {
    const errors = await lintAs('libs/transfer/src/wrong-way.ts', "export * from '@blobferry/verify-cli';\n");
    // Nx reports the cycle (apps already depend on libs) or the tag rule, whichever it meets first.
    expect(errors.map((e) => e.message).join('\n')).toMatch(/Circular dependency between|can only depend on libs tagged with "type:lib"/);
  });

  it('refuses production code importing tools/local-cloud', async () => {
    const errors = await lintAs('apps/backup-function/src/wrong-way.ts', "export * from '@blobferry/local-cloud';\n");
    expect(errors).toHaveLength(1);
  });

  it('lets tests import tools/local-cloud and apps import libs', async () => {
    expect(await lintAs('libs/transfer/test/ok.test.ts', "export * from '@blobferry/local-cloud';\n")).toEqual([]);
    expect(await lintAs('apps/verify-cli/src/ok.ts', "export * from '@blobferry/transfer';\n")).toEqual([]);
  });
});

describe('project graph', () => {
  it('has no cycles, and production edges point from apps to libs only (benchmarks may drive apps)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'graph-')), 'graph.json');
    execFileSync('npx', ['nx', 'graph', `--file=${file}`], {
      cwd: workspaceRoot,
      stdio: 'pipe',
      env: { ...process.env, NX_DAEMON: 'false' },
    });
    const { graph } = JSON.parse(readFileSync(file, 'utf8')) as {
      graph: { nodes: Record<string, { data: { root: string } }>; dependencies: Record<string, { target: string }[]> };
    };
    const kindOf = (name: string) => graph.nodes[name]?.data.root.split('/')[0];
    const wrongWay: string[] = [];
    for (const [source, deps] of Object.entries(graph.dependencies)) {
      for (const { target } of deps) {
        if (!graph.nodes[target]) continue; // external npm packages
        const from = kindOf(source);
        const to = kindOf(target);
        // Only the benchmarks may depend on apps: they run the Function host and the CLI as users do.
        // Libs reach tools only from their tests (the local cloud); lint keeps tools out of their src/.
        const appsOnlyFromBench = to !== 'apps' || from === 'bench';
        const libsOnlyDown = from !== 'libs' || to === 'libs' || to === 'tools';
        if (!appsOnlyFromBench || !libsOnlyDown) wrongWay.push(`${source} -> ${target}`);
      }
    }
    expect(wrongWay).toEqual([]);
    expect(cycleIn(graph.nodes, graph.dependencies)).toBeUndefined();
    expect(Object.keys(graph.nodes)).toEqual(
      expect.arrayContaining(['@blobferry/transfer', '@blobferry/reconcile', '@blobferry/verify-cli']),
    );
  });

  it('finds a cycle when there is one, and names only the projects on it', () => {
    const nodes = { app: {}, a: {}, b: {}, c: {}, leaf: {} };
    const edges = (...targets: string[]) => targets.map((target) => ({ target }));
    const acyclic = { app: edges('a', 'leaf', 'some-npm-package'), a: edges('b', 'leaf'), b: edges('leaf'), c: edges('b') };
    expect(cycleIn(nodes, acyclic)).toBeUndefined();
    expect(cycleIn(nodes, { ...acyclic, b: edges('leaf', 'c'), c: edges('a') })).toEqual(['a', 'b', 'c', 'a']);
    expect(cycleIn(nodes, { ...acyclic, leaf: edges('leaf') })).toEqual(['leaf', 'leaf']);
  });
});

/** The first dependency cycle among workspace projects, as the path around it (first project last again), or undefined. */
function cycleIn(nodes: Record<string, unknown>, dependencies: Record<string, { target: string }[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): string[] | undefined => {
    if (state.get(name) === 'visiting') return [...path.slice(path.indexOf(name)), name];
    if (state.get(name) === 'done') return undefined;
    state.set(name, 'visiting');
    for (const { target } of dependencies[name] ?? []) {
      const cycle = nodes[target] ? visit(target, [...path, name]) : undefined;
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(nodes)) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}
