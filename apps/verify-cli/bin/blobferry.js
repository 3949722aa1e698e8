#!/usr/bin/env node
// npm links a workspace's bin when it installs, before anything is built. So that `npx blobferry` works
// right after `npm ci` without every install (CI's, the bench's) paying for a build, the first run bundles
// the CLI (esbuild, about a second); `npx nx build verify-cli` rebuilds it after a change. Under the
// `@blobferry/source` condition (tests, with tsx) `#main` is the TypeScript source and nothing is built.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';

// V8 keeps the bundle's compiled code between runs (in the OS temp folder; NODE_DISABLE_COMPILE_CACHE=1 turns it
// off), so a start after the first compiles nothing: about 0.1 CPU-s and 20 MiB less per command.
enableCompileCache();

const main = new URL(import.meta.resolve('#main'));
if (!existsSync(main)) {
  process.stderr.write('blobferry: building the CLI on first use (about a second; `npx nx build verify-cli` rebuilds it)\n');
  await import('../scripts/bundle.mjs');
}
await import(main.href);
