#!/usr/bin/env node
// npm links a workspace's bin when it installs, before anything is built: this committed launcher
// exists by then, so `npx local-cloud up` works on a fresh clone once the tool is built.
import { existsSync } from 'node:fs';

const bin = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(bin)) {
  console.error('local-cloud: the tool is not built yet; run `npx nx build local-cloud` first.');
  process.exit(1);
}
await import(bin.href);
