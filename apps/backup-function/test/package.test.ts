import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFunctionsCore } from '@blobferry/functions-host';

const projectRoot = new URL('..', import.meta.url).pathname;
let outDir: string;
let files: Record<string, Uint8Array>;

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'backup-function-package-'));
  await promisify(execFile)(process.execPath, [join(projectRoot, 'scripts/build-package.mjs'), '--out-dir', outDir]);
  files = unzipSync(await readFile(join(outDir, 'backup-function.zip')));
}, 120_000);
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe('nx build backup-function: the zip-deployable package', () => {
  it('holds the committed host.json, package.json and the bundled entry', async () => {
    expect(Object.keys(files).sort()).toEqual(expect.arrayContaining(['dist/index.js', 'host.json', 'package.json']));
    expect(Buffer.from(files['host.json'] as Uint8Array).toString()).toBe(await readFile(join(projectRoot, 'host.json'), 'utf8'));
    const deployed = JSON.parse(Buffer.from(files['package.json'] as Uint8Array).toString()) as Record<string, unknown>;
    expect(deployed).toMatchObject({ main: 'dist/index.js', type: 'commonjs', dependencies: {} });
  });

  it('registers backupBlob (queue trigger on %BACKUP_QUEUE_NAME% via the BACKUP_QUEUE connection), the sweep (timer on %SWEEP_SCHEDULE%, queue trigger on blob-sweep) and health (HTTP GET /api/health) when the worker loads it', () => {
    const core = installFunctionsCore();
    const previous = { ...process.env };
    Object.assign(process.env, {
      AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/blobferry-backup',
      AWS_REGION: 'eu-west-1',
      BACKUP_BUCKET: 'bucket-name',
      ALLOWED_SOURCES: 'account/container',
    });
    try {
      createRequire(import.meta.url)(join(outDir, 'package/dist/index.js'));
    } finally {
      process.env = previous;
    }
    const triggers = Object.fromEntries(
      [...core.functions.values()].map((fn) => [fn.name, Object.values(fn.bindings).find((binding) => binding.direction === 'in')]),
    );
    expect(triggers.backupBlob).toMatchObject({ type: 'queueTrigger', queueName: '%BACKUP_QUEUE_NAME%', connection: 'BACKUP_QUEUE' });
    expect(triggers.health).toMatchObject({ type: 'httpTrigger', route: 'health', methods: ['GET'], authLevel: 'function' });
    expect(triggers.sweep).toMatchObject({ type: 'timerTrigger', schedule: '%SWEEP_SCHEDULE%' });
    expect(triggers.sweepSlice).toMatchObject({ type: 'queueTrigger', queueName: 'blob-sweep', connection: 'BACKUP_QUEUE' });
  });
});
