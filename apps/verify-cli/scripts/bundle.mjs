// Second half of `nx build verify-cli` (after tsc, which emits the library API and its types): the
// `blobferry` command as one ES module, dist/main.js. Every start (`blobferry --help` included)
// loads the SDKs, which as hundreds of separate ES modules cost more CPU than one bundled file.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));

const built = await build({
  entryPoints: [join(projectRoot, 'src/main.ts')],
  outfile: join(projectRoot, 'dist/main.js'),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  // Workspace libs are bundled from their TypeScript sources, as tests run them.
  conditions: ['@blobferry/source'],
  // DuckDB (libs/inventory) is a native binding: loaded from node_modules at run time, and only by --inventory.
  external: ['@duckdb/*'],
  // The SDKs' CommonJS parts call require(), which an ES module has only through createRequire.
  banner: {
    js: "import { createRequire as blobferryCreateRequire } from 'node:module'; const require = blobferryCreateRequire(import.meta.url);",
  },
  minify: true,
  keepNames: true,
  legalComments: 'linked',
  logLevel: 'warning',
  write: false,
});
// Each file is written beside its place and renamed into it, so a build running beside another (test files in
// parallel, two first uses of the bin) never lets a process load a half-written bundle.
await mkdir(join(projectRoot, 'dist'), { recursive: true });
for (const file of built.outputFiles) {
  const written = `${file.path}.${process.pid}.tmp`;
  await writeFile(written, file.contents);
  await rename(written, file.path);
}
