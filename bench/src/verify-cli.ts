import type { Stack } from '@blobferry/local-cloud';
import { exportedFile } from './exported-file.js';
import { CLI_ROLE, withMachineCpu, type MachineCpu } from './machine-cpu.js';
import { runMeasured, type Measurement } from './measure.js';
import { profilingNodeArgs } from './scenario.js';

// `blobferry verify` as a user runs it: apps/verify-cli's built command, in its own process. Azure by connection
// string (AZURE_STORAGE_CONNECTION_STRING), AWS by the standard chain (the emulator's key pair in the environment), like rclone's keys: the
// federated exchange costs one STS call, the same for any object count, so it is left out of the comparison.

/** The built `blobferry` command, as apps/verify-cli exports it for tools that run it. */
export const VERIFY_BIN = exportedFile('@blobferry/verify-cli/cli');

export interface VerifyArgsOptions {
  stack: Stack;
  container: string;
  targetPrefix: string;
  deep?: boolean;
}

export function verifyArgs(o: VerifyArgsOptions): string[] {
  return [
    VERIFY_BIN,
    'verify',
    '--container',
    o.container,
    '--bucket',
    o.stack.aws.bucket,
    '--target-prefix',
    o.targetPrefix,
    '--region',
    o.stack.aws.region,
    '--s3-endpoint',
    o.stack.aws.s3Endpoint,
    ...(o.deep ? ['--deep'] : []),
    '--no-progress',
    '--json',
  ];
}

export function verifyEnv(stack: Stack): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('AWS_') && !name.startsWith('AZURE_')) env[name] = value;
  return {
    ...env,
    AZURE_STORAGE_CONNECTION_STRING: stack.azure.connectionString,
    AWS_ACCESS_KEY_ID: stack.aws.emulatorAccessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.aws.emulatorSecretAccessKey,
  };
}

/**
 * `blobferry verify` measured in its own process (profiled in place when asked), and where the machine's CPU
 * went; throws unless it found all `objects` in sync.
 */
export async function runVerify(options: VerifyArgsOptions & { objects: number }): Promise<Measurement & { machine: MachineCpu }> {
  const { objects, ...args } = options;
  const measured = await withMachineCpu(CLI_ROLE, () =>
    runMeasured(process.execPath, [...profilingNodeArgs(), ...verifyArgs(args)], { env: verifyEnv(args.stack) }),
  );
  expectAllInSync(measured.stdout, objects);
  return measured;
}

export interface VerifySummary {
  source: number;
  target: number;
  inSync: number;
  [kind: string]: number;
}

/** The summary of `--json` output; throws unless every object is in sync (a benchmark of a wrong answer is void). */
export function expectAllInSync(stdout: string, objects: number): VerifySummary {
  const summary = (JSON.parse(stdout) as { summary: VerifySummary }).summary;
  if (summary.inSync !== objects) {
    throw new Error(`blobferry verify found ${summary.inSync} of ${objects} objects in sync: ${JSON.stringify(summary)}`);
  }
  return summary;
}
