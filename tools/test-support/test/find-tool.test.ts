import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findOnPath, findTool, GNU_TIME, inCi, toolPath, type ToolSpec } from '../src/index.js';

// Fake tools in two PATH directories: shell scripts that print a version, fail, or are not executable.
const root = mkdtempSync(join(tmpdir(), 'test-support-'));
const first = join(root, 'first');
const second = join(root, 'second');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function script(directory: string, name: string, body: string, mode = 0o755): string {
  const path = join(directory, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, mode);
  return path;
}
mkdirSync(first);
mkdirSync(second);
const fakeAws = script(second, 'fake-aws', 'echo "aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12"');
script(first, 'fake-aws', 'echo not executable', 0o644);
script(first, 'broken', 'echo "pyenv: broken: command not found" >&2; exit 127');
script(first, 'to-stderr', 'echo "tool 1.2.3" >&2');
script(first, 'time', 'echo "usage: time [-lp] command"; exit 0');
const PATH = ['', 'relative/bin', first, second].join(':');
const spec = (command: string, extra: Partial<ToolSpec> = {}): ToolSpec => ({
  command,
  versionArgs: ['--version'],
  install: `apt-get install -y ${command}`,
  ...extra,
});

describe('findOnPath', () => {
  it('returns the first executable match, skipping non-executable files and empty or relative entries', () => {
    expect(findOnPath('fake-aws', PATH)).toBe(fakeAws);
    expect(findOnPath('absent', PATH)).toBeUndefined();
    expect(findOnPath('fake-aws', '')).toBeUndefined();
    expect(findOnPath('fake-aws', undefined)).toBeUndefined();
  });
});

describe('findTool', () => {
  it('reports the absolute path and the first line of the version output', () => {
    expect(findTool(spec('fake-aws'), { PATH })).toEqual({
      found: true,
      command: 'fake-aws',
      path: fakeAws,
      version: 'aws-cli/2.9.19 Python/3.11.2 Linux/6.1 source/x86_64.debian.12',
    });
    expect(findTool(spec('to-stderr'), { PATH })).toMatchObject({ found: true, version: 'tool 1.2.3' });
  });

  it('says why a tool is unusable and how to install it', () => {
    const absent = findTool(spec('absent'), { PATH });
    expect(absent).toMatchObject({ found: false, install: 'apt-get install -y absent' });
    expect(!absent.found && absent.reason).toMatch(/^absent is not on PATH/);

    const broken = findTool(spec('broken'), { PATH });
    expect(!broken.found && broken.reason).toMatch(
      /broken does not run: `broken --version` exited with 127: pyenv: broken: command not found/,
    );

    expect(() => toolPath(spec('absent'), { PATH })).toThrow(/absent is not on PATH .*\. Install it: apt-get install -y absent$/);
  });

  it('refuses a `time` that is not GNU time', () => {
    const bsd = findTool(GNU_TIME, { PATH });
    expect(!bsd.found && bsd.reason).toMatch(/time is not GNU time: `time --version` printed: usage: time/);
    expect(!bsd.found && bsd.install).toBe('apt-get install -y time');
  });
});

describe('inCi', () => {
  it('is true for CI=true or 1, false when unset, empty, 0 or false', () => {
    expect([{ CI: 'true' }, { CI: '1' }, { CI: 'yes' }].map(inCi)).toEqual([true, true, true]);
    expect([{}, { CI: '' }, { CI: '0' }, { CI: 'false' }, { CI: 'FALSE' }].map(inCi)).toEqual([false, false, false, false, false]);
  });
});
