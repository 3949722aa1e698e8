import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installFunctionsCore } from '@blobferry/functions-host';

const projectRoot = new URL('..', import.meta.url).pathname;
let outDir: string;
let files: Record<string, Uint8Array>;

beforeAll(async () => {
  outDir = await realpath(await mkdtemp(join(tmpdir(), 'backup-function-package-')));
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
    const duckDbVersion = (createRequire(import.meta.url)('@duckdb/node-api/package.json') as { version: string }).version;
    expect(deployed).toMatchObject({ main: 'dist/index.js', type: 'commonjs', dependencies: { '@duckdb/node-api': duckDbVersion } });
  });

  it('ships DuckDB for Linux x64 (glibc) only: the four packages it loads, without files only a developer reads', () => {
    const shipped = Object.keys(files).filter((name) => name.startsWith('node_modules/'));
    const packageNames = new Set(
      shipped.map((name) =>
        name
          .split('/')
          .slice(1, name.startsWith('node_modules/@') ? 3 : 2)
          .join('/'),
      ),
    );
    expect([...packageNames].sort()).toEqual([
      '@duckdb/node-api',
      '@duckdb/node-bindings',
      '@duckdb/node-bindings-linux-x64',
      'detect-libc',
    ]);
    expect(shipped).toEqual(
      expect.arrayContaining([
        'node_modules/@duckdb/node-bindings-linux-x64/duckdb.node',
        'node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so',
      ]),
    );
    expect(shipped.filter((name) => /README|CHANGELOG|\.d\.ts$|\.map$|^node_modules\/.*\/node_modules\//.test(name))).toEqual([]);
  });

  it('runs DuckDB from the unzipped package alone: every module and the native library load from it, and a Parquet file round-trips', async () => {
    const unzipped = join(outDir, 'unzipped');
    for (const [name, data] of Object.entries(files)) {
      await mkdir(dirname(join(unzipped, name)), { recursive: true });
      await writeFile(join(unzipped, name), data);
    }
    // Resolved from dist/index.js, as the bundle's own import of DuckDB is; the temporary directory has no
    // node_modules above it, and NODE_PATH is unset, so nothing can come from the workspace.
    const script = `
      const { readFileSync } = require('node:fs');
      const { join } = require('node:path');
      const { DuckDBInstance } = require('node:module').createRequire(join(process.cwd(), 'dist/index.js'))('@duckdb/node-api');
      (async () => {
        const instance = await DuckDBInstance.create(':memory:');
        const connection = await instance.connect();
        await connection.run("COPY (SELECT 42 AS x) TO 'answer.parquet' (FORMAT parquet)");
        const rows = (await connection.runAndReadAll("SELECT x FROM 'answer.parquet'")).getRowObjectsJson();
        const mapped = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((line) => line.split(/\\s+/)[5] ?? '');
        process.stdout.write(JSON.stringify({ rows, modules: Object.keys(require.cache), nativeFiles: [...new Set(mapped.filter((path) => path.includes('duckdb')))] }));
      })();
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: unzipped,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    const loaded = JSON.parse(stdout) as { rows: unknown[]; modules: string[]; nativeFiles: string[] };
    expect(loaded.rows).toEqual([{ x: 42 }]);
    expect(loaded.modules).toEqual(expect.arrayContaining([join(unzipped, 'node_modules/@duckdb/node-bindings-linux-x64/duckdb.node')]));
    expect(loaded.modules.filter((path) => !path.startsWith(`${unzipped}/node_modules/`))).toEqual([]);
    expect(loaded.nativeFiles.sort()).toEqual(
      ['duckdb.node', 'libduckdb.so'].map((name) => join(unzipped, 'node_modules/@duckdb/node-bindings-linux-x64', name)),
    );
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
