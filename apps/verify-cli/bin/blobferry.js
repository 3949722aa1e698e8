#!/usr/bin/env node
// npm links a workspace's bin when it installs, before anything is built: this committed launcher
// exists by then, so `npx blobferry` works on a fresh clone once the CLI is built.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('blobferry: the CLI is not built yet; run `npx nx build verify-cli` first.');
  process.exit(2);
}
await import(main.href);
