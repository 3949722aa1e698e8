// `nx build backup-function`: a zip-deployable Azure Functions package (Flex Consumption, Node 22),
// made without Azure Functions Core Tools:
//   dist/package/{host.json, package.json, dist/index.js, node_modules/}  and  dist/backup-function.zip
// The app and every dependency (workspace libs from source) are bundled into one CommonJS file, except
// `@azure/functions-core`, which the Functions worker injects at run time, and DuckDB, whose native
// binding cannot be bundled: it ships in node_modules, for the platform of Flex Consumption only.
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { copyRuntimePackages, FLEX_CONSUMPTION_PLATFORM } from './runtime-packages.mjs';

const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));
// `--out-dir DIR` (tests) builds elsewhere than dist/, which Nx caches as this target's output.
const outDirFlag = process.argv.indexOf('--out-dir');
const outDir = outDirFlag === -1 ? join(projectRoot, 'dist') : resolve(process.argv[outDirFlag + 1] ?? 'dist');
const packageDir = join(outDir, 'package');
const zipFile = join(outDir, 'backup-function.zip');
const appPackage = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8'));

// host.json is the committed apps/backup-function/host.json (queue trigger settings, timeout,
// extension bundle): copied verbatim, so the package runs with exactly the reviewed file.
const hostJson = await readFile(join(projectRoot, 'host.json'), 'utf8');
JSON.parse(hostJson); // a malformed host.json fails the build, not the deployed host

// Loaded from node_modules at run time rather than bundled.
const shippedPackages = ['@duckdb/node-api'];

await rm(outDir, { recursive: true, force: true });
await mkdir(join(packageDir, 'dist'), { recursive: true });

const result = await build({
  entryPoints: [join(projectRoot, 'src/index.ts')],
  outfile: join(packageDir, 'dist/index.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  // Workspace libs are bundled from their TypeScript sources, as tests run them.
  conditions: ['@blobferry/source'],
  mainFields: ['module', 'main'],
  external: ['@azure/functions-core', '@duckdb/*'],
  minify: true,
  keepNames: true,
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});

const copiedPackages = await copyRuntimePackages({
  roots: shippedPackages,
  fromDir: projectRoot,
  toDir: join(packageDir, 'node_modules'),
  platform: FLEX_CONSUMPTION_PLATFORM,
});
const deployedPackage = {
  name: 'blobferry-backup-function',
  version: appPackage.version,
  description: appPackage.description,
  private: true,
  type: 'commonjs',
  main: 'dist/index.js',
  engines: { node: '>=22' },
  // Already in node_modules; declared so that a deployment that does run `npm install` keeps them.
  dependencies: Object.fromEntries(
    copiedPackages.filter(({ name }) => shippedPackages.includes(name)).map(({ name, version }) => [name, version]),
  ),
};
await writeFile(join(packageDir, 'host.json'), hostJson);
await writeFile(join(packageDir, 'package.json'), `${JSON.stringify(deployedPackage, null, 2)}\n`);

const names = (await readdir(packageDir, { recursive: true, withFileTypes: true }))
  .filter((entry) => entry.isFile())
  .map((entry) => relative(packageDir, join(entry.parentPath, entry.name)))
  .sort();
if (!names.some((name) => name.startsWith('node_modules/') && name.endsWith('.node'))) {
  const { os, cpu, libc } = FLEX_CONSUMPTION_PLATFORM;
  throw new Error(
    `no native DuckDB binding for ${os}-${cpu} (${libc}) is installed: run npm ci on such a machine, or with --os=${os} --cpu=${cpu}`,
  );
}
const files = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await readFile(join(packageDir, name))])));
// A fixed timestamp keeps the zip byte-identical for identical inputs (stable Nx cache artifacts).
const zipped = zipSync(
  Object.fromEntries(Object.entries(files).map(([name, data]) => [name, [data, { mtime: new Date('2020-01-01T00:00:00Z') }]])),
  { level: 9 },
);
await writeFile(zipFile, zipped);

const bundleBytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
process.stdout.write(
  `backup-function: ${relative(process.cwd(), zipFile)} (${(zipped.length / 1024).toFixed(0)} KiB; bundle ${(bundleBytes / 1024).toFixed(0)} KiB)\n`,
);
