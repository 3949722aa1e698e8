// `nx build backup-function`: a zip-deployable Azure Functions package (Flex Consumption, Node 22),
// made without Azure Functions Core Tools:
//   dist/package/{host.json, package.json, dist/index.js}  and  dist/backup-function.zip
// The app and every dependency (workspace libs from source) are bundled into one CommonJS file;
// only `@azure/functions-core`, which the Functions worker injects at run time, stays external.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { zipSync } from 'fflate';

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

const deployedPackage = {
  name: 'blobferry-backup-function',
  version: appPackage.version,
  description: appPackage.description,
  private: true,
  type: 'commonjs',
  main: 'dist/index.js',
  engines: { node: '>=22' },
  // Everything is bundled; nothing to install on deployment.
  dependencies: {},
};

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
  external: ['@azure/functions-core'],
  minify: true,
  keepNames: true,
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
});

await writeFile(join(packageDir, 'host.json'), hostJson);
await writeFile(join(packageDir, 'package.json'), `${JSON.stringify(deployedPackage, null, 2)}\n`);

const files = {};
for (const name of ['host.json', 'package.json', 'dist/index.js', 'dist/index.js.LEGAL.txt']) {
  files[name] = await readFile(join(packageDir, name)).catch(() => undefined);
  if (!files[name]) delete files[name];
}
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
