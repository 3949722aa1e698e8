// The packages the bundle leaves external because they load native code (DuckDB), copied with
// their runtime dependencies into the package's node_modules: only what runs on the deployed
// platform (an optional dependency built for another OS, CPU or libc stays out), and no file
// that only a developer reads.
import { access, cp, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

// Flex Consumption runs Node on Linux x64 with glibc.
export const FLEX_CONSUMPTION_PLATFORM = { os: 'linux', cpu: 'x64', libc: 'glibc' };

const DEVELOPER_FILE = /(^|\/)(README|CHANGELOG)(\.[^/]*)?$|\.d\.[cm]?ts$|\.map$/i;

/**
 * Copies `roots` and what they need at run time (dependencies, and the optional dependencies installed
 * for `platform`), resolved as Node resolves them from `fromDir`, into `toDir/<name>`: a flat tree.
 * @returns {Promise<Array<{ name: string, version: string }>>} every package copied, roots first
 */
export async function copyRuntimePackages({ roots, fromDir, toDir, platform }) {
  const copied = new Map();
  const pending = roots.map((name) => ({ name, fromDir, optional: false }));
  while (pending.length > 0) {
    const { name, fromDir: requiredFrom, optional } = pending.shift();
    const manifestPath = await findManifest(name, requiredFrom);
    if (!manifestPath) {
      if (optional) continue; // npm installs an optional dependency only where it runs
      throw new Error(`${name}, needed at run time, is not installed (from ${requiredFrom}): run npm ci`);
    }
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    if (optional && !runsOn(manifest, platform)) continue;
    const known = copied.get(name);
    if (known) {
      if (known.version !== manifest.version)
        throw new Error(`${name} is needed at ${known.version} and ${manifest.version}: a flat tree holds one`);
      continue;
    }
    copied.set(name, { name, version: manifest.version });
    const packageDir = dirname(manifestPath);
    await cp(packageDir, join(toDir, name), {
      recursive: true,
      filter: (source) => !DEVELOPER_FILE.test(source) && !source.slice(packageDir.length).includes('/node_modules'),
    });
    for (const dependency of Object.keys(manifest.dependencies ?? {}))
      pending.push({ name: dependency, fromDir: packageDir, optional: false });
    for (const dependency of Object.keys(manifest.optionalDependencies ?? {}))
      pending.push({ name: dependency, fromDir: packageDir, optional: true });
  }
  return [...copied.values()];
}

/** Node's lookup of a bare name: `node_modules/<name>` in `fromDir`, then in each directory above it. */
async function findManifest(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const manifestPath = join(dir, 'node_modules', name, 'package.json');
    if (
      await access(manifestPath).then(
        () => true,
        () => false,
      )
    )
      return manifestPath;
    if (dirname(dir) === dir) return undefined;
  }
}

/** npm's test of `os`, `cpu` and `libc`: a list names the platforms it runs on, or (with `!`) those it does not. */
function runsOn(manifest, platform) {
  return ['os', 'cpu', 'libc'].every((field) => {
    const list = manifest[field];
    if (!list) return true;
    return list.some((entry) => !entry.startsWith('!')) ? list.includes(platform[field]) : !list.includes(`!${platform[field]}`);
  });
}
