import type { Stack } from '@blobferry/local-cloud';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withMachineCpu, type MachineCpu } from './machine-cpu.js';
import { runMeasured, type Measurement } from './measure.js';

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

/** Flags every rclone run gets: quiet, no progress output, no bucket creation probes. */
const RCLONE_COMMON_FLAGS = ['--log-level', 'ERROR', '--stats', '0', '--s3-no-check-bucket'];

/** `rclone <args>` with the config at `configPath`, measured in its own process, and where the machine's CPU went. */
export function runRclone(configPath: string, args: string[]): Promise<Measurement & { machine: MachineCpu }> {
  return withMachineCpu('rclone', () => runMeasured('rclone', [...args, ...RCLONE_COMMON_FLAGS], { env: rcloneEnv(configPath) }));
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
 * holds the failed attempts as well. They are read from its log (ERROR level, which RCLONE_COMMON_FLAGS keeps:
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
