// The external programs the workspace's tests and benchmarks run, each with the Debian command that
// installs it. `.ci/run` (machine tools step) installs the same packages when they are missing.
// This entry point does not import vitest, so benchmark code can use it at run time.
import type { ToolSpec } from './find-tool.js';

export * from './find-tool.js';

/** The AWS CLI, v1 (PyPI) or v2 (Debian, AWS installer): credential_process and web-identity tests. */
export const AWS_CLI: ToolSpec = {
  command: 'aws',
  versionArgs: ['--version'],
  install: 'apt-get install -y awscli   (or: pip install awscli)',
};

/** rclone: the credential_process test (env_auth through a profile) and the benchmark's peer. */
export const RCLONE: ToolSpec = {
  command: 'rclone',
  versionArgs: ['version'],
  install: 'apt-get install -y rclone',
};

/** curl: the benchmark's endpoint read limits. */
export const CURL: ToolSpec = {
  command: 'curl',
  versionArgs: ['--version'],
  install: 'apt-get install -y curl',
};

/**
 * GNU time (`-o`, `-f`, peak RSS as %M): the benchmark measures every tool under it. Found on PATH,
 * never the shell keyword `time`; BSD time (macOS) has neither option and is refused.
 */
export const GNU_TIME: ToolSpec = {
  command: 'time',
  versionArgs: ['--version'],
  install: 'apt-get install -y time',
  accept: (output) => /GNU Time/i.test(output),
  expected: 'GNU time',
};

/** python3 (>= 3.9) with venv and ensurepip: the local cloud installs moto into a venv with it. */
export const PYTHON3_VENV: ToolSpec = {
  command: 'python3',
  versionArgs: [
    '-c',
    "import sys; assert sys.version_info >= (3, 9), 'moto needs Python >= 3.9'; import venv, ensurepip; print('Python', sys.version.split()[0], 'with venv and ensurepip')",
  ],
  install: 'apt-get install -y python3 python3-venv',
};
