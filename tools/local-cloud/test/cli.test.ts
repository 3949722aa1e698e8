import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli-program.js';
import type { LocalCloud, Stack } from '../src/index.js';
import { DEFAULT_MOTO_VENV_DIR } from '../src/workspace-paths.js';
import { processGroupGone } from './process-gone.js';
import { required } from './required.js';

describe('local-cloud up', () => {
  it('prints the endpoints and connection string, writes the stack file, and stops everything on SIGTERM', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'local-cloud-cli-'));
    const stackFile = join(workDir, 'stack.json');
    const signals = new EventEmitter();
    const lines: string[] = [];
    let cloud: LocalCloud | undefined;
    const ready = new Promise<void>((resolve) => {
      void runCli(['node', 'local-cloud', 'up', '--stack-file', stackFile], {
        stdout: (line) => lines.push(line),
        signals,
        env: {},
        log: () => undefined,
        onReady: (started) => {
          cloud = started;
          resolve();
        },
      }).then(() => signals.emit('stopped'));
    });
    await ready;
    const started = required(cloud, 'the running stack');
    const stopped = new Promise((resolve) => signals.once('stopped', resolve));
    try {
      const stack = JSON.parse(await readFile(stackFile, 'utf8')) as Stack;
      expect(stack).toEqual(started.stack);
      expect(lines.join('\n')).toContain(stack.azure.connectionString);
      expect(lines.join('\n')).toContain(stack.aws.s3Endpoint);
      expect(lines.join('\n')).not.toContain(stack.identity.identityHeader);
      // The fault proxy stands in front by default; its control token stays in stack.json.
      expect(stack.control?.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines.join('\n')).not.toContain(required(stack.control, 'stack.control').token);
      expect(lines.join('\n')).toContain('local-cloud outage s3|azure|sts');
    } finally {
      signals.emit('SIGTERM');
      await stopped;
    }
    expect(lines.at(-1)).toBe('local cloud stopped');
    for (const pid of started.childPids) expect(processGroupGone(pid)).toBe(true);
    await expect(readFile(stackFile)).rejects.toMatchObject({ code: 'ENOENT' });
    await rm(workDir, { recursive: true, force: true });
  });

  it('refuses --s3-endpoint without a key pair in the environment, naming the variables', async () => {
    await expect(
      runCli(['node', 'local-cloud', 'up', '--s3-endpoint', 'http://127.0.0.1:9'], {
        stdout: () => undefined,
        signals: new EventEmitter(),
        env: {},
        log: () => undefined,
      }),
    ).rejects.toThrow(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });
});

describe('local-cloud prepare', () => {
  it('installs moto into the venv (once; later runs find it) and prints where its server is', async () => {
    const lines: string[] = [];
    const io = { stdout: (line: string) => lines.push(line), signals: new EventEmitter(), env: {} };
    await runCli(['node', 'local-cloud', 'prepare', '--moto-venv', DEFAULT_MOTO_VENV_DIR], io);
    const server = join(DEFAULT_MOTO_VENV_DIR, 'bin', 'moto_server');
    expect(lines.at(-1)).toBe(`moto is installed: ${server}`);
    await expect(access(server, constants.X_OK)).resolves.toBeUndefined();
  }, 240_000);
});
