// The built bin as a user runs it: a separate node process, shebang, commander wiring and exit codes.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { BLOBFERRY_BIN as bin, buildBlobferryBin } from './helpers/built-bin.js';

const execFileAsync = promisify(execFile);

async function blobferryProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH ?? '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(buildBlobferryBin, 180_000);

describe('the blobferry bin', () => {
  it('keeps its shebang and lists both commands', async () => {
    expect((await readFile(bin, 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
    const help = await blobferryProcess(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/verify \[options\]/);
    expect(help.stdout).toMatch(/credentials \[options\]/);
  });

  it('exits 2 for usage and configuration errors, naming the fix', async () => {
    const usage = await blobferryProcess(['verify', '--deep', '--bogus']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown option '--bogus'/);
    const noStack = await blobferryProcess(['verify', '--local', '--stack', '/nonexistent/stack.json']);
    expect(noStack.code).toBe(2);
    expect(noStack.stderr).toMatch(/npm start/);
    expect(noStack.stdout).toBe('');
  });
});
