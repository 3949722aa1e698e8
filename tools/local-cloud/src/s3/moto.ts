import { execFile } from 'node:child_process';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { spawnChild } from '../child-process.js';
import { MOTO_KEY_PAIR, MOTO_VERSION } from '../constants.js';
import type { RunningS3 } from './running-s3.js';

/** moto's server with the fixes of preload/moto_server.py (what each costs and why, there). */
const MOTO_LAUNCHER = fileURLToPath(new URL('../../preload/moto_server.py', import.meta.url));

const run = promisify(execFile);

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

const LOCK_WAIT_MS = 5 * 60_000;

// crc32c and awscrt give moto real CRC32C and CRC64NVME: without them it silently stores plain CRC32
// under those names for multipart objects, and SDK reads then fail their checksum validation.
const MOTO_REQUIREMENTS = [`moto[server]==${MOTO_VERSION}`, 'crc32c==2.9.post0', 'awscrt==0.38.1'];

async function installedRequirements(marker: string): Promise<string | undefined> {
  return (await exists(marker)) ? readFile(marker, 'utf8') : undefined;
}

/** Serialises first-time installs: tests of several projects may start moto at the same moment. */
async function withInstallLock<T>(venvDir: string, work: () => Promise<T>): Promise<T> {
  const lock = `${venvDir}.lock`;
  await mkdir(dirname(venvDir), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() > deadline)
        throw new Error(`moto venv lock ${lock} is still held after 5 minutes; remove it if no install is running.`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

export interface EnsureMotoVenvOptions {
  venvDir: string;
  log: (entry: Record<string, unknown>) => void;
}

/** Creates the venv and installs the pinned moto server once; later starts reuse it. */
export async function ensureMotoVenv(o: EnsureMotoVenvOptions): Promise<string> {
  const server = join(o.venvDir, 'bin', 'moto_server');
  const marker = join(o.venvDir, '.requirements');
  const wanted = `${MOTO_REQUIREMENTS.join('\n')}\n`;
  if ((await installedRequirements(marker)) === wanted) return server;
  return withInstallLock(o.venvDir, async () => {
    if ((await installedRequirements(marker)) === wanted) return server;
    o.log({
      msg: 'installing moto server into a venv (first run only, takes about a minute)',
      setup: true,
      venvDir: o.venvDir,
      version: MOTO_VERSION,
    });
    try {
      await run('python3', ['-m', 'venv', o.venvDir]);
      await run(join(o.venvDir, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', ...MOTO_REQUIREMENTS], {
        maxBuffer: 16 * 1024 * 1024,
      });
      await writeFile(marker, wanted);
    } catch (error) {
      throw new Error(
        `Could not install moto ${MOTO_VERSION} into ${o.venvDir}: ${(error as Error).message}. ` +
          'moto needs python3 with the venv module (Debian: apt-get install python3-venv) and access to PyPI; ' +
          'or use the default s3rver (--s3 s3rver).',
        { cause: error },
      );
    }
    return server;
  });
}

export interface StartMotoOptions {
  port: number;
  venvDir: string;
  log: (entry: Record<string, unknown>) => void;
}

/** moto keeps everything in memory; it cannot persist (documented limit). */
export async function startMoto(o: StartMotoOptions): Promise<RunningS3> {
  await ensureMotoVenv(o);
  const child = spawnChild({
    name: 'moto',
    command: join(o.venvDir, 'bin', 'python3'),
    // Port 0 works: werkzeug reports the port it was given by the kernel.
    args: [MOTO_LAUNCHER, '-H', '127.0.0.1', '-p', String(o.port)],
    readyPattern: /Running on http:\/\/127\.0\.0\.1:(\d+)/,
  });
  let port: string;
  try {
    port = (await child.ready)[1] as string;
  } catch (error) {
    await child.stop();
    throw error;
  }
  return {
    kind: 'moto',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { ...MOTO_KEY_PAIR },
    features: { checksum: 'CRC32', conditionalWrites: true },
    children: [child],
    stop: () => child.stop(),
  };
}
