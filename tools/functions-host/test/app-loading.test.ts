import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFunctionsHost } from '../src/host-process.js';
import { isEsModule } from '../src/runtime.js';

// The host loads an app as the Functions Node.js worker does: import() for an ES module, require() for
// CommonJS (the deployed package's bundle), decided by the extension and the nearest package.json.
let root: string;

/** A module that registers one anonymous HTTP function through @azure/functions-core, in either syntax. */
const registering = (name: string, syntax: 'cjs' | 'esm') =>
  `${syntax === 'cjs' ? "const core = require('@azure/functions-core');" : "import core from '@azure/functions-core';"}
core.registerFunction({ name: ${JSON.stringify(name)}, bindings: { request: { type: 'httpTrigger', direction: 'in', route: ${JSON.stringify(name)}, methods: ['GET'], authLevel: 'anonymous' } } }, () => ({ body: ${JSON.stringify(name)} }));
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'functions-host-apps-'));
  for (const [dir, type] of [
    ['commonjs', 'commonjs'],
    ['module', 'module'],
    ['untyped', undefined],
  ] as const) {
    await mkdir(join(root, dir));
    await writeFile(join(root, dir, 'package.json'), JSON.stringify(type ? { name: dir, type } : { name: dir }));
  }
  await writeFile(join(root, 'host.json'), JSON.stringify({ version: '2.0' }));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('loading the app', () => {
  it('takes .mjs/.mts as ES modules, .cjs/.cts as CommonJS, and other files by their package.json type (CommonJS by default)', async () => {
    for (const file of [
      'commonjs/a.mjs',
      'module/a.mts',
      'module/a.cjs',
      'module/a.cts',
      'module/a.js',
      'module/a.ts',
      'commonjs/a.js',
      'untyped/a.js',
    ]) {
      await writeFile(join(root, file), '');
    }
    expect(await isEsModule(join(root, 'commonjs', 'a.mjs'))).toBe(true);
    expect(await isEsModule(join(root, 'module', 'a.mts'))).toBe(true);
    expect(await isEsModule(join(root, 'module', 'a.cjs'))).toBe(false);
    expect(await isEsModule(join(root, 'module', 'a.cts'))).toBe(false);
    expect(await isEsModule(join(root, 'module', 'a.js'))).toBe(true);
    expect(await isEsModule(join(root, 'module', 'a.ts'))).toBe(true);
    expect(await isEsModule(join(root, 'commonjs', 'a.js'))).toBe(false);
    expect(await isEsModule(join(root, 'untyped', 'a.js'))).toBe(false);
  });

  it('serves the functions a CommonJS bundle and an ES module register', async () => {
    await writeFile(join(root, 'commonjs', 'index.js'), registering('fromCommonJs', 'cjs'));
    await writeFile(join(root, 'module', 'index.js'), registering('fromEsModule', 'esm'));
    // In its own process, as deployed: the stand-in for @azure/functions-core hooks the real loaders.
    for (const [entry, name] of [
      ['commonjs', 'fromCommonJs'],
      ['module', 'fromEsModule'],
    ] as const) {
      const host = await startFunctionsHost({
        appEntry: join(root, entry, 'index.js'),
        hostJsonPath: join(root, 'host.json'),
        appSettings: {},
        log: () => undefined,
      });
      try {
        const response = await fetch(`${host.baseUrl}/api/${name}`);
        expect(await response.text()).toBe(name);
      } finally {
        await host.stop();
      }
    }
  });
});
