#!/usr/bin/env node
import { runCli } from './cli-program.js';

runCli(process.argv, { stdout: (line) => console.log(line), signals: process, env: process.env }).then(
  () => process.exit(0),
  (error: unknown) => {
    const commanderExit = (error as { code?: string; exitCode?: number }).code?.startsWith('commander.');
    if (!commanderExit) console.error(`local-cloud: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(commanderExit ? ((error as { exitCode?: number }).exitCode ?? 1) : 1);
  },
);
