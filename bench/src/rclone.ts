import type { Stack } from '@blobferry/local-cloud';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SentRequest } from './http-requests.js';
import { withMachineCpu, type MachineCpu } from './machine-cpu.js';
import { runMeasured, type Measurement, type RunOptions } from './measure.js';

// rclone (Debian's package) against the same local clouds, tuned like blobferry: same part size, same number of
// parts in flight, same number of files in flight. Remotes are named `azure` and `s3`.

export interface RcloneTuning {
  partSize: number;
  concurrency: number;
}

/** rclone.conf for the stack: Azurite through the azureblob backend's emulator mode, the S3 endpoint as `Other`. */
export function rcloneConfig(stack: Stack, tuning: RcloneTuning): string {
  const partSize = `${Math.round(tuning.partSize / 1024)}Ki`;
  return [
    '[azure]',
    'type = azureblob',
    'use_emulator = true',
    `account = ${stack.azure.accountName}`,
    `key = ${stack.azure.accountKey}`,
    `endpoint = ${stack.azure.blobEndpoint}`,
    `chunk_size = ${partSize}`,
    `upload_concurrency = ${tuning.concurrency}`,
    '',
    '[s3]',
    'type = s3',
    'provider = Other',
    'env_auth = false',
    `access_key_id = ${stack.aws.emulatorAccessKeyId}`,
    `secret_access_key = ${stack.aws.emulatorSecretAccessKey}`,
    `region = ${stack.aws.region}`,
    `endpoint = ${stack.aws.s3Endpoint}`,
    'force_path_style = true',
    `chunk_size = ${partSize}`,
    `upload_cutoff = ${partSize}`,
    `upload_concurrency = ${tuning.concurrency}`,
    '',
  ].join('\n');
}

export async function writeRcloneConfig(directory: string, stack: Stack, tuning: RcloneTuning): Promise<string> {
  const path = join(directory, 'rclone.conf');
  await writeFile(path, rcloneConfig(stack, tuning), { mode: 0o600 });
  return path;
}

/** rclone's environment: its own config, and no AWS variables that would change how it talks to the endpoint. */
export function rcloneEnv(configPath: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, RCLONE_CONFIG: configPath };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_') || (name.startsWith('RCLONE_') && name !== 'RCLONE_CONFIG')) delete env[name];
  }
  return env;
}

/** Flags every rclone run gets: no progress output, no bucket creation probes. */
const RCLONE_COMMON_FLAGS = ['--stats', '0', '--s3-no-check-bucket'];
/** A measured run logs errors only (failed attempts are read from them). */
const RCLONE_QUIET = ['--log-level', 'ERROR'];

/** `rclone <args>` with the config at `configPath`, measured in its own process, and where the machine's CPU went. */
export function runRclone(
  configPath: string,
  args: string[],
  options: Pick<RunOptions, 'okExitCodes'> = {},
): Promise<Measurement & { machine: MachineCpu }> {
  return withMachineCpu('rclone', () =>
    runMeasured('rclone', [...args, ...RCLONE_QUIET, ...RCLONE_COMMON_FLAGS], { ...options, env: rcloneEnv(configPath) }),
  );
}

/**
 * `rclone <args>` with every HTTP request it sends logged (`--dump headers` into `logFile`), not measured: the
 * dump slows it down. Returns the requests, read from the log by requestsOfRcloneLog.
 */
export async function rcloneRequests(
  configPath: string,
  args: string[],
  options: Pick<RunOptions, 'okExitCodes'> & { logFile: string },
): Promise<SentRequest[]> {
  const dump = ['--log-level', 'DEBUG', '--dump', 'headers', '--log-file', options.logFile];
  await runMeasured('rclone', [...args, ...dump, ...RCLONE_COMMON_FLAGS], {
    env: rcloneEnv(configPath),
    ...(options.okExitCodes ? { okExitCodes: options.okExitCodes } : {}),
  });
  return requestsOfRcloneLog(await readFile(options.logFile, 'utf8'));
}

/** The requests of an rclone `--dump headers` log: each `HTTP REQUEST` entry's request line and Host header. */
export function requestsOfRcloneLog(log: string): SentRequest[] {
  // The dumped request ends its lines with CRLF, as on the wire.
  const entry = /HTTP REQUEST \(req [^)]*\)\r?\n[^\n]*?: (\S+) (\S+) HTTP\/[\d.]+\r?\n(?:[^\n]+\n)*?Host: ([^\s]+)/g;
  return [...log.matchAll(entry)].map(([, method = '', path = '', origin = '']) => ({ method, path, origin }));
}

export function rcloneVersion(): string {
  try {
    const first = execFileSync('rclone', ['version'], { encoding: 'utf8' }).split('\n')[0] ?? '';
    return first.replace(/^rclone\s+/, '').trim();
  } catch {
    throw new Error('rclone is not installed: on Debian, `apt-get install -y rclone` (the bench compares against it)');
  }
}

/**
 * rclone retries a whole copy when an attempt ends in errors (`--retries`, 3 by default), so its wall time then
 * holds the failed attempts as well. They are read from its log (ERROR level, which RCLONE_QUIET keeps:
 * "Attempt 1/3 failed with 1 errors and: ...") so that a peer's failure shows beside its figures instead of
 * hiding in a rate. This is how moto's refusal of rclone's `HEAD ?versionId=null` on an unversioned bucket
 * would have been seen (bench/README.md).
 */
export function failedAttempts(stderr: string): string[] {
  return stderr.split('\n').flatMap((line) => {
    const attempt = /\bERROR : (Attempt \d+\/\d+ failed\b.*)$/.exec(line.trimEnd());
    return attempt?.[1] ? [attempt[1]] : [];
  });
}

/** The failed attempts of every run of a scenario, for its rclone figures: nothing when every first attempt succeeded. */
export function retriedAttempts(runs: { stderr: string }[]): { failedAttempts?: number; firstFailedAttempt?: string } {
  const failed = runs.flatMap((run) => failedAttempts(run.stderr));
  return failed.length === 0 ? {} : { failedAttempts: failed.length, firstFailedAttempt: failed[0] };
}

/** What `rclone check` counted, from its last line ("Failed to check with 4 errors: last error was: 4 differences found"); 0 without one. */
export function checkDifferences(stderr: string): number {
  return Number(/(\d+) differences found/.exec(stderr)?.[1] ?? 0);
}
